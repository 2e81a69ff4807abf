"""How results are stored and shown: atomic files, MP4 videos, the search trace and its plots."""
