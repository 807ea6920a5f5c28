"""MMX Explorer: Streamlit entry point (placeholder until the app issue lands)."""

import streamlit as st

from mmx_core.assets import load_published

st.set_page_config(page_title="MMX Explorer", layout="wide")
st.title("MMX Explorer")
published = load_published()
st.write(f"{len(published):,} published trailer embeddings loaded ({published.dim}-d).")
