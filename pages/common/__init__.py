"""Streamlit helpers shared by the app's pages (widgets only; the logic lives in mmx_core)."""
