"""Helpers several family packages share: the account ledger, media-task plumbing, uploads, image
model rules and the native formats' common pieces. Not a family: it serves no routes."""
