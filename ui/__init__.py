"""Streamlit helpers shared by app.py and the pages, the only place besides the pages that imports streamlit.

:mod:`.widgets` (view state, set chooser, maps, trailer cards), :mod:`.explore_panels` (what a click on the
Explore map changes) and :mod:`.job_panels` (background jobs: progress, cancel, resume, logs); all computation
is in mmx_core."""
