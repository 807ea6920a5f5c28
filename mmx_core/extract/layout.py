"""The files an extracted data set keeps beside its manifest (read by the app's trailer card and hover card)."""

THUMBNAILS_NAME = "thumbnails.zip"
"""One keyframe per trailer (``<id>.jpg``) and per sequence (``sequences/<id>/<s>.jpg``)."""

SOURCES_NAME = "sources.json"
"""Per trailer: the video file, its duration, cuts and sequence start/end times (seconds)."""
