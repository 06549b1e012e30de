"""FER Studio: facial expression recognition in the browser. Run: streamlit run streamlit_app.py"""

import streamlit as st

st.set_page_config(page_title="FER Studio", page_icon="assets/favicon.png", layout="wide")  # a local icon: nothing from a CDN

pages = [
    st.Page("app_pages/predict.py", title="Predict", icon=":material/face:", default=True),
    st.Page("app_pages/live.py", title="Live", icon=":material/videocam:", url_path="live"),
    st.Page("app_pages/batch.py", title="Batch", icon=":material/photo_library:"),
    st.Page("app_pages/explore.py", title="Explore", icon=":material/dataset:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
]
st.navigation(pages).run()
