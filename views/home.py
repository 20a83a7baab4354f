"""Home: for each role, what to do next."""
import streamlit as st

import ui
from matching import home

def next_steps(steps: list[dict]) -> None:
    if not steps:
        st.success(ui.t("home.nothing_to_do"), icon=":material/check:")
        return
    st.subheader(ui.t("home.next_steps"))
    for step in steps:
        st.info(ui.t(step["key"], **step.get("params", {})), icon=":material/arrow_forward:")


def challenge_counts(counts: dict) -> None:
    st.subheader(ui.t("home.my_challenges"))
    cols = st.columns(len(counts))
    for col, (status, count) in zip(cols, counts.items()):
        col.metric(ui.t(f"status.{status}"), count)


def profile_completeness(share: float, missing: list[str]) -> None:
    st.subheader(ui.t("home.profile"))
    st.progress(share, text=ui.t("home.profile_complete", percent=round(share * 100)))
    for item in missing:
        st.write("• " + ui.t(f"profile.missing.{item}"))


def top_matches(matches: list[dict]) -> None:
    st.subheader(ui.t("home.top_matches"))
    for match in matches:
        with st.container(border=True):
            st.text(match["title"])
            ui.label_badge(match["label"])
            reasons = ", ".join(term for term, _ in match["reasons"])
            if reasons:
                st.caption(ui.t("matches.why", terms=ui.plain(reasons)))


def main() -> None:
    user = ui.user()
    st.title(ui.t("home.title", name=user.name))
    summary = home.next_steps(ui.db(), user)
    if term := summary.get("term"):
        st.caption(ui.t("home.term", name=term["name"], state=ui.t("term_state." + term["state"])))
    next_steps(summary["steps"])
    if "counts" in summary:
        challenge_counts(summary["counts"])
    if "completeness" in summary:
        profile_completeness(*summary["completeness"])
    if summary.get("top_matches"):
        top_matches(summary["top_matches"])
    if summary.get("error"):
        st.warning(ui.t(summary["error"]), icon=":material/info:")


main()
