"""Streamlit-free support for the app's pages: what each page shows, computed without streamlit.

Map data and figures, view state, search, evaluation views, hover cards (and their static files),
embedding sets the app shows."""
