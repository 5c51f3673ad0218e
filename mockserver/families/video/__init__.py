"""Video generation vendors as the gateway relays them, each in its own wire format: Kling (video,
images and Kolors try-on share one API), Runway, Luma, Pika, Veo, MiniMax Hailuo, Seedance."""

from __future__ import annotations

from mockserver.families.base import Family
from mockserver.families.video import kling, luma, minimax, pika, runway, seedance, veo

FAMILY = Family.collect("video", [kling, runway, luma, pika, veo, minimax, seedance])
