"""Home: for each role, what to do next."""
import streamlit as st

import ui
from matching import home

user = ui.user()
st.title(ui.t("home.title", name=user.name))
summary = home.next_steps(ui.db(), user)

term = summary.get("term")
if term:
    st.caption(ui.t("home.term", name=term["name"], state=ui.t("term_state." + term["state"])))

steps = summary["steps"]
if steps:
    st.subheader(ui.t("home.next_steps"))
    for step in steps:
        st.info(ui.t(step["key"], **step.get("params", {})), icon=":material/arrow_forward:")
else:
    st.success(ui.t("home.nothing_to_do"), icon=":material/check:")

if "counts" in summary:
    st.subheader(ui.t("home.my_challenges"))
    cols = st.columns(len(summary["counts"]))
    for col, (status, count) in zip(cols, summary["counts"].items()):
        col.metric(ui.t(f"status.{status}"), count)

if "completeness" in summary:
    share, missing = summary["completeness"]
    st.subheader(ui.t("home.profile"))
    st.progress(share, text=ui.t("home.profile_complete", percent=round(share * 100)))
    for item in missing:
        st.write("• " + ui.t(f"profile.missing.{item}"))

if summary.get("top_matches"):
    st.subheader(ui.t("home.top_matches"))
    for match in summary["top_matches"]:
        with st.container(border=True):
            st.text(match["title"])
            ui.label_badge(match["label"])
            reasons = ", ".join(term for term, _ in match["reasons"])
            if reasons:
                st.caption(ui.t("matches.why", terms=ui.plain(reasons)))

if summary.get("error"):
    st.warning(ui.t(summary["error"]), icon=":material/info:")
