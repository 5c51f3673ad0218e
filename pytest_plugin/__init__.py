"""pytest plugin for mockserver: fixtures, the cassette marker, and Hypothesis strategies from the contracts."""
