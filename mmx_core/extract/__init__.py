"""From video files to expert features: decoding, shots, clip plan, experts, pipeline."""
