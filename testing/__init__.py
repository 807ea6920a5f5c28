"""Support shared by the tests and the benchmarks: a browser-less Streamlit client and the reliability cases."""
