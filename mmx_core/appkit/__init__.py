"""Streamlit-free support for the app's pages: map data and figures, view state, search,
evaluation views, hover cards (and their static files), embedding sets the app shows."""
