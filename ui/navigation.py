"""Keep every page inside the app's navigation, even when a fresh server is opened at a page's URL."""

import streamlit as st


def stay_in_app_navigation() -> None:
    """Rerun through ``streamlit_app.py`` when Streamlit ran this page on its own.

    Streamlit still honours the legacy ``pages/`` folder until some session has called
    ``st.navigation``: so the first visitor of a freshly started server who opens a page's URL
    (a bookmark, a refresh, a shared link) would get that page without the app's frame: no page
    titles or icons in the menu, an extra "streamlit app" entry, the narrow layout. Marking the
    legacy folder as unused and rerunning sends the same URL through the app's ``st.navigation``,
    which opens the same page (the URL path is the same in both).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
