"""What every page shares: the run's database, the signed-in user, the language, and the few
rendering helpers that keep pages thin and consistent (errors next to fields, status badges).

User text is rendered as text: with ``st.text``/``st.code``, as widget values, options of
selectboxes and multiselects, or in dataframes; wherever an element renders Markdown (alerts,
captions, headers, labels, badges, ``st.markdown``/``st.write``) it goes through :func:`plain`
first, so nothing anyone typed can execute, restyle the page, link out or fetch from elsewhere.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import streamlit as st

from matching import db as storage
from matching import i18n
from matching.outcomes import SUMMARY_FIELDS
from matching.errors import PortalError, StaleRecord, ValidationFailed
from matching.models import User

STATUS_ICONS = {
    "draft": ":material/edit_note:", "submitted": ":material/hourglass_top:",
    "returned": ":material/undo:", "approved": ":material/check_circle:",
    "archived": ":material/inventory_2:",
}
STATUS_COLOURS = {"draft": "gray", "submitted": "blue", "returned": "orange", "approved": "green",
                  "archived": "gray"}
#: role -> pages (file, title key, icon). A page is listed only when its file exists.
PAGES: dict[str, list[tuple[str, str, str]]] = {
    "department_rep": [
        ("views/home.py", "nav.home", ":material/home:"),
        ("views/dept_challenges.py", "nav.my_challenges", ":material/list_alt:"),
        ("views/dept_challenge_form.py", "nav.challenge_form", ":material/edit_document:"),
        ("views/dept_teams.py", "nav.dept_teams", ":material/groups:"),
        ("views/dept_outcomes.py", "nav.outcomes", ":material/flag:"),
    ],
    "student": [
        ("views/home.py", "nav.home", ":material/home:"),
        ("views/student_profile.py", "nav.team_profile", ":material/badge:"),
        ("views/student_matches.py", "nav.challenges_for_us", ":material/travel_explore:"),
        ("views/student_preferences.py", "nav.preferences", ":material/format_list_numbered:"),
        ("views/student_pairing.py", "nav.our_pairing", ":material/handshake:"),
        ("views/student_feedback.py", "nav.feedback", ":material/rate_review:"),
        ("views/student_summary.py", "nav.final_summary", ":material/summarize:"),
    ],
    "facilitator": [
        ("views/home.py", "nav.home", ":material/home:"),
        ("views/fac_review.py", "nav.review", ":material/fact_check:"),
        ("views/fac_terms.py", "nav.terms", ":material/calendar_month:"),
        ("views/fac_matrix.py", "nav.matrix", ":material/grid_on:"),
        ("views/fac_assignment.py", "nav.assignment", ":material/join_inner:"),
        ("views/fac_feedback.py", "nav.rounds", ":material/event_upcoming:"),
        ("views/fac_dashboard.py", "nav.dashboard", ":material/monitoring:"),
        ("views/fac_data.py", "nav.data", ":material/import_export:"),
    ],
    "expert": [
        ("views/home.py", "nav.home", ":material/home:"),
        ("views/expert_teams.py", "nav.my_teams", ":material/groups:"),
        ("views/expert_final.py", "nav.final_assessment", ":material/grading:"),
    ],
}
ACCOUNT_PAGE = ("views/account.py", "nav.account", ":material/manage_accounts:")
#: The outcomes library (issue 17): every signed-in role reads it, after its own pages.
LIBRARY_PAGE = ("views/library.py", "nav.library", ":material/local_library:")
#: Every participant's notification inbox (matching/notifications.py), listed after the role's
#: own pages (their order stays what people learned); the router shows its unread count in the title.
INBOX_PAGE = ("views/inbox.py", "nav.inbox", ":material/inbox:")
for _pages in PAGES.values():
    _pages.extend((LIBRARY_PAGE, INBOX_PAGE))
#: The read-only public servant (single sign-on from an allowed domain): the library only.
PAGES["public_servant"] = [LIBRARY_PAGE]


def page_files(role: str) -> list[str]:
    """The page files a role can open (those that exist), account page last."""
    from pathlib import Path
    root = Path(__file__).resolve().parent
    return [p for p, _, _ in PAGES[role] + [ACCOUNT_PAGE] if (root / p).exists()]


LABEL_COLOURS = {"strong": "green", "good": "blue", "fair": "orange", "weak": "gray"}


def db():
    """The database connection opened by ``app.py`` for this script run."""
    return st.session_state["_db"]


def user() -> User | None:
    return st.session_state.get("_user")


def lang() -> str:
    return st.session_state.get("lang", "en")


def t(key: str, **params: Any) -> str:
    return i18n.t(key, lang(), **params)


def label_value(label: str, value: Any) -> str:
    """"Label: value" in the user's language (French: "Libellé : valeur")."""
    return i18n.label_value(label, value, lang())


#: U+2060 WORD JOINER: invisible, not a word character, not a line-break opportunity. Placed
#: inside the character sequences that Streamlit's Markdown turns into links or icons *after*
#: backslash escapes are resolved (checked in Chromium against Streamlit 1.67).
JOINER = "\u2060"
_JOINS = (
    # GFM literal autolinks ("http://", "https://", "mailto:x") and :emoji: / :material/...:
    # shortcodes all need a colon directly followed by what comes next ("Note: x" stays as is).
    (re.compile(r":(?=\S)"), ":" + JOINER),
    (re.compile(r"(?i)(www)(?=\.)"), r"\1" + JOINER),                # "www." autolinks
    (re.compile(r"@"), JOINER + "@"),                              # e-mail autolinks (mailto:)
    (re.compile(r"(?<=[<>~=-])(?=[<>~=-])"), JOINER),               # "->" "--" "<=" typography
)
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_LINE_BREAKS = re.compile(r"[\r\n\t\f\v\u2028\u2029\x85]+")


def plain(text: Any, *, badge: bool = False) -> str:
    """User text made inert for every element that renders Markdown (st.markdown, st.write of a
    string, captions, alerts, headers, widget labels, radio options, expander and tab labels,
    metric labels, progress text, badges). THE helper for user text in those places.

    * line breaks become spaces (no paragraphs, setext headings, tables or lists);
    * every ASCII punctuation character is backslash-escaped, so no Markdown or HTML syntax
      is left: ``![x](u)``, ``[t](u)``, ``<img>``, ``<http://...>``, emphasis, code, headings,
      lists, quotes, tables, ``&entities;``, ``$math$`` and ``:color[...]`` all show as typed;
    * a word joiner breaks what Streamlit finds in the text *after* unescaping: literal
      autolinks (``http://``, ``www.``, e-mail addresses), ``:emoji:`` and
      ``:material/icon:`` shortcodes and ``->``-style typography. It is invisible.

    ``badge=True`` leaves ``[`` and ``]`` to ``st.badge``, which escapes them itself (escaping
    them twice would give an escaped backslash followed by live brackets).

    Not for places that show text as is (``st.text``, ``st.code``, text values of inputs,
    dataframes, selectbox and multiselect options): there the escapes would show.
    """
    text = _LINE_BREAKS.sub(" ", "" if text is None else str(text))
    for pattern, replacement in _JOINS:
        text = pattern.sub(replacement, text)
    text = _PUNCTUATION.sub(r"\\\1", text)
    if badge:
        text = text.replace("\\[", "[").replace("\\]", "]")
    return text


def badge(status: str) -> None:
    """A status as icon + word + colour, so colour is never the only signal."""
    st.badge(t(f"status.{status}"), icon=STATUS_ICONS.get(status), color=STATUS_COLOURS.get(status, "gray"))


def label_badge(label: str) -> None:
    st.badge(t(f"label.{label}"), color=LABEL_COLOURS.get(label, "gray"))


def match_standing(item: dict, side: str) -> None:
    """A ranked match as every page shows it: its label (a badge), then a bar filled to its score
    relative to the best of its list, captioned with its rank and that share
    (:func:`matching.matches.standing_words`; ``side`` is "team" or "challenge")."""
    from matching import matches
    words = matches.standing_words(item, lang(), side)
    label_badge(item["label"])
    st.progress(item["share_of_best"], text=f"{words['rank']} · {words['relative']}")


def match_line(item: dict, side: str) -> str:
    """The same as one line of text, for tables: "Strong match · rank 2 of 35 · 92% of the best..."."""
    from matching import matches
    return matches.standing_words(item, lang(), side)["line"]


def shared_terms(reasons, *, label_key: str, empty_key: str) -> None:
    """The words a team and a challenge share, as chips (words, not colour, carry the meaning).

    ``reasons`` is a ranked item's ``reason_pairs`` (:class:`matching.ranking.Reason`): each chip
    reads "their words ↔ your words" as each side wrote them, or the words once when both wrote
    the same; or its ``reasons``, ``(words, contribution)`` pairs: each chip shows the words.
    """
    chips = []
    for reason in reasons or []:
        theirs, yours = getattr(reason, "their_words", None), getattr(reason, "your_words", None)
        if theirs and yours:
            same = theirs.casefold() == yours.casefold()
            chips.append(plain(theirs, badge=True) if same
                         else f"{plain(theirs, badge=True)} ↔ {plain(yours, badge=True)}")
        else:
            chips.append(plain(reason[0], badge=True))
    if not chips:
        st.caption(t(empty_key))
        return
    with st.container(horizontal=True, gap="small"):
        st.caption(t(label_key))
        for chip in chips:
            st.badge(chip, color="violet", icon=":material/link:")


def field_error(errors: dict[str, str] | None, field: str) -> None:
    """The translated problem of ``field``, shown right under its input."""
    if errors and field in errors:
        st.error(t(errors[field]), icon=":material/error:")


def show_error(err: PortalError) -> None:
    """A service's refusal as a clear message in the user's language."""
    if isinstance(err, ValidationFailed):
        st.error(t("error.validation_summary", count=len(err.errors)), icon=":material/error:")
    elif isinstance(err, StaleRecord):
        st.warning(t("error.stale_record"), icon=":material/sync_problem:")
    else:
        st.error(message(err.key, err.params), icon=":material/error:")


# --- Calling a service from a page ----------------------------------------------------------
#
# Every form does the same: call the service; field problems go next to their fields after a
# rerun; any other refusal is said in one sentence, the typed input left in place; success is
# confirmed at the top of the page after a rerun. ``act`` does all of it, ``show_notice`` shows
# the confirmation, and ``attempt`` is the first half for pages that confirm in place.

#: A message kept for a later run: catalogue key and params. It is translated only when shown, so
#: a language switch in between shows it in the new language. A param may itself be a Message.
Message = tuple[str, dict[str, Any]]


def message(key: str, params: dict[str, Any] | None = None) -> str:
    """``t`` for messages carrying data: string params (titles, names people typed) are made inert,
    because st.success/st.error/st.warning render Markdown; Message params are translated."""
    return t(key, **{name: _param(value) for name, value in (params or {}).items()})


def _param(value: Any) -> Any:
    if isinstance(value, tuple):
        return message(*value)
    if isinstance(value, (int, float)):
        return value
    return plain(value)  # names, titles, and anything else that may carry what someone typed


def notify(page: str, *messages: Message, kind: str = "success") -> None:
    """Keep messages for ``show_notice(page)`` on the next run (kind "success" or "error")."""
    st.session_state[f"{page}_notice"] = (kind, messages)


def show_notice(page: str, *, icon: str | None = ":material/check_circle:", error_icon: str | None = None) -> str | None:
    """Show, once, what ``notify`` kept for ``page``; returns its kind, or None if there was nothing."""
    kind, messages = st.session_state.pop(f"{page}_notice", (None, ()))
    if messages:
        text = " ".join(message(*m) for m in messages)
        if kind == "error":
            st.error(text, icon=error_icon)
        else:
            st.success(text, icon=icon)
    return kind


def notice_error(page: str) -> Callable[[PortalError], None]:
    """An ``on_error`` for pages that show refusals where they show confirmations: top, after a rerun."""
    def keep(err: PortalError) -> None:
        notify(page, (err.key, err.params), kind="error")
        st.rerun()
    return keep


def in_place(field: str) -> Callable[[PortalError], None]:
    """An ``on_error`` for a one-field form: the field's problem shown at once where the call was
    made (right under its button, no rerun); anything else as ``show_error``."""
    def show(err: PortalError) -> None:
        if isinstance(err, ValidationFailed):
            field_error(err.errors, field)
        else:
            show_error(err)
    return show


def attempt(call: Callable[[], Any], *, errors_key: str | None = None,
            map_errors: Callable[[dict], dict] | None = None, stale_key: str | None = None,
            on_error: Callable[[PortalError], None] = show_error) -> tuple[bool, Any]:
    """Run ``call``: ``(True, result)``, or ``(False, None)`` once the refusal is shown.

    Field problems are kept under ``errors_key`` (through ``map_errors`` when the page's fields are
    named otherwise) for ``field_error``, then the page reruns: the fields are already drawn.
    A StaleRecord's current version is kept under ``stale_key`` for the page's comparison, then
    rerun. Anything else (and those, when no key is given) goes to ``on_error``. Typed input lives
    in keyed widgets, so none of this loses it. A call that failed on a database conflict is rerun
    a few times first (``storage.retrying``); after that its Busy refusal is one more sentence."""
    try:
        result = storage.retrying(st.session_state.get("_db"), call)
    except ValidationFailed as err:
        if errors_key is None:
            on_error(err)
            return False, None
        st.session_state[errors_key] = map_errors(err.errors) if map_errors else err.errors
        st.rerun()
    except StaleRecord as err:
        if stale_key is None:
            on_error(err)
            return False, None
        st.session_state[stale_key] = err.current
        st.rerun()
    except PortalError as err:
        on_error(err)
        return False, None
    if errors_key is not None:
        st.session_state.pop(errors_key, None)
    return True, result


def act(call: Callable[[], Any], *, page: str, success: Callable[[Any], Message | list[Message]],
        forget: Iterable[str] = (), **how: Any) -> None:
    """``attempt`` (``how`` is its keywords), then on success: keep ``success(result)`` for
    ``show_notice(page)``, drop the ``forget`` widget keys (a form that starts empty again), rerun."""
    ok, result = attempt(call, **how)
    if not ok:
        return
    said = success(result)
    notify(page, *([said] if isinstance(said, tuple) else said))
    for key in (*forget, how.get("errors_key")):  # old field problems go with the success
        st.session_state.pop(key, None)
    st.session_state["_saved"] = st.session_state.get("_saved", 0) + 1  # nothing unsaved (app.py)
    st.rerun()


def kept_errors(errors_key: str) -> dict[str, str]:
    """The field problems ``attempt`` kept under ``errors_key`` (none yet: empty)."""
    return st.session_state.get(errors_key) or {}


#: session-state key: widget key -> the language its choice box was last drawn in
_CHOICE_LANGUAGES = "_choice_languages"
#: Arguments giving a first value; ignored (and warned about by Streamlit) once the key holds one
_FIRST_VALUE_ARGS = ("index", "default")
#: Choice boxes that show a placeholder while empty
_PLACEHOLDER_WIDGETS = ("selectbox", "multiselect")


def choice(widget: Callable[..., Any], label: str, options: Iterable[Any], *, key: str,
           labels: Mapping[Any, str] | Callable[[Any], str] | None = None, **kwargs: Any) -> Any:
    """THE way to draw a choice box (``st.selectbox``, ``st.radio``, ``st.multiselect``,
    ``st.pills``, ``st.segmented_control``, ``st.select_slider``, or the same on a column or the
    sidebar: pass the bound method as ``widget``). Returns what the widget returns.

    ``options`` are stable values (codes, ids), never translated text; ``labels`` maps each to
    what the person reads (a dict or a function, in the current language); ``key`` is a stable
    id. The chosen value lives in ``st.session_state[key]``, so a page reads and presets it there.

    The choice survives a language switch. The browser holds a choice box's value as the label
    it shows and sends that label back; after a switch every label changes, and Streamlit, which
    maps the old label against the new ones, falls back to the first option (issue 14.1). So on
    the first run in another language the value is read back with the labels it was shown with
    and set again, which also tells the browser the new label.
    """
    drawn_in = st.session_state.setdefault(_CHOICE_LANGUAGES, {})
    if drawn_in.get(key, lang()) != lang() and key in st.session_state:
        try:
            st.session_state[key] = st.session_state[key]  # read with the last run's labels
        except KeyError:  # pragma: no cover - a widget state without its metadata
            pass
        else:
            for name in _FIRST_VALUE_ARGS:  # the value just set is the first value
                if kwargs.get(name) is not None:
                    kwargs.pop(name)
    drawn_in[key] = lang()
    if getattr(widget, "__name__", "") in _PLACEHOLDER_WIDGETS:
        kwargs.setdefault("placeholder", t("choice.placeholder"))  # not Streamlit's English one
    if labels is not None:
        kwargs["format_func"] = labels if callable(labels) else (lambda value: labels.get(value, str(value)))
    return widget(label, list(options), key=key, **kwargs)


def date_field(label: str, *, key: str, value=None, help: str | None = None, container=None) -> str | None:
    """A date typed as YYYY-MM-DD, the numeric date of both official languages in Canada, with
    its placeholder in the user's language ("aaaa-mm-jj"). Not ``st.date_input``: an empty one
    always shows English "yyyy/mm/dd" (its field is drawn in the en-US locale, whatever the
    page's language). ``value``: a date (or ISO text) to start from. Returns the text typed, or
    None; the service validates it and its problem is shown under the field."""
    start = value.isoformat() if hasattr(value, "isoformat") else (value or "")
    text = (container or st).text_input(label, value=start, key=key, max_chars=10,
                                        placeholder=t("app.date_placeholder"),
                                        help=help or t("app.date_help"))
    return text.strip() or None


ALL_PROGRAMMES = "all"


def pick_programme(key: str) -> int | None:
    """The academic program a facilitator's page is filtered by (None: all of theirs). Drawn only
    when the person may act on more than one; the choice is kept across pages."""
    from matching import programmes
    visible = programmes.visible_programmes(db(), user())
    if len(visible) <= 1:
        return visible[0].id if visible else None
    options = {ALL_PROGRAMMES: t("programme.all"), **{p.id: p.label(lang()) for p in visible}}
    remembered = st.session_state.get("_chosen_programme", ALL_PROGRAMMES)
    if remembered not in options:
        remembered = ALL_PROGRAMMES
    chosen = choice(st.selectbox, t("programme.label"), options, key=key, labels=options,
                    index=list(options).index(remembered))
    st.session_state["_chosen_programme"] = chosen
    return None if chosen == ALL_PROGRAMMES else chosen


def pick_term(key: str, states=None, *, label_key: str = "term.selector"):
    """A term selector; returns the chosen :class:`~matching.models.Term`.

    Several terms live at once, so a page that acts on a term says which. The choice is kept
    across pages (a facilitator who picked the next intake stays on it); the first choice is
    :func:`matching.terms.default_term` among ``states`` (every term is listed either way, so a
    closed term stays reachable for reading and export). Stops the page when there is no term.
    With several academic programs, a program filter comes first (:func:`pick_programme`); a
    facilitator limited to some programs sees only their terms.
    """
    from matching import terms
    programme_id = pick_programme(key + "_programme")
    all_terms = terms.list_terms(db(), actor=user(), programme_id=programme_id)
    if not all_terms:
        st.info(t("fac.no_term"), icon=":material/calendar_month:")
        st.stop()
    by_id = {term.id: term for term in all_terms}
    remembered = st.session_state.get("_chosen_term")
    first = remembered if remembered in by_id else terms.default_term(db(), states, actor=user(),
                                                                       programme_id=programme_id).id
    labels = {i: term_label(term) for i, term in by_id.items()}
    chosen = choice(st.selectbox, t(label_key), by_id, index=list(by_id).index(first), key=key, labels=labels)
    st.session_state["_chosen_term"] = chosen
    return by_id[chosen]


def term_label(term) -> str:
    """``Winter 2027 · Active`` in the user's language (a term name is user text: a widget label
    or option, never Markdown); with several academic programs, the term's program follows
    (``Winter 2027 · Active · Sheridan College · Bachelor of Interaction Design``)."""
    label = f"{term.name} · {t('term_state.' + term.state)}"
    programme = programme_label(getattr(term, "programme_id", None))
    return f"{label} · {programme}" if programme else label


def programme_label(programme_id: int | None) -> str:
    """"Institution · Program" in the user's language; empty while the portal has one program
    (nothing to tell apart) or for no program."""
    from matching import programmes
    labels = programmes.labels(db(), lang())
    return labels.get(programme_id, "") if len(labels) > 1 else ""


def rep_t(key: str, person=None, **params: Any) -> str:
    """``t(key)`` worded for the organisation of ``person`` (the signed-in user by default): a
    municipality's representative reads "Your municipality's challenges" where a federal one
    reads "Your department's challenges" (:func:`matching.organisations.rep_key`)."""
    from matching import organisations
    person = person if person is not None else user()
    kind = organisations.kind_of(db(), getattr(person, "department_id", None))
    return t(organisations.rep_key(key, kind), **params)


def organisation_heading(kind: str | None) -> str:
    """The label for one organisation of ``kind``: "Department", "Provincial government",
    "Municipality" (the neutral "Organization" when the kind is unknown)."""
    from matching import organisations
    return organisations.heading_word(kind, lang())


def term_caption(term) -> None:
    """The term a page acts on, when it does not offer a choice (a team's own term)."""
    if term is not None:
        st.caption(t("term.acts_on", name=plain(term.name), state=t("term_state." + term.state)))


def department_name(row: dict) -> str:
    return row.get("department_fr" if lang() == "fr" else "department_en") or acronym(row.get("acronym"))


def acronym(english: str | None) -> str:
    """A department's acronym in the user's language (records carry the English one: DFO is
    MPO in French, ESDC is EDSC)."""
    from matching import departments
    return departments.acronym(db(), english, lang())


def wide_table(rows: list[dict[str, Any]], columns: dict[str, tuple[str, str]], *, key: str) -> None:
    """A read-only table whose long columns get room, and whose selected row is shown in full
    below it, so no title or reason stays cut off.

    ``columns`` maps each column id (a key of the rows) to its translated header and width
    (``"small"``, ``"medium"``, ``"large"`` or pixels). Cells are shown as given (user text is
    safe in a table); the selected row's cells go through :func:`plain`.
    """
    import pandas as pd
    st.caption(t("table.select_row"))
    event = st.dataframe(pd.DataFrame(rows, columns=list(columns)), width="stretch", hide_index=True, key=key,
                         on_select="rerun", selection_mode="single-row",
                         column_config={c: st.column_config.Column(header, width=width)
                                        for c, (header, width) in columns.items()})
    selected = event.selection.rows if event else []
    if selected and selected[0] < len(rows):
        with st.container(border=True, key=f"{key}_details"):
            for column, (header, _) in columns.items():
                value = rows[selected[0]].get(column)
                if value not in (None, ""):
                    st.markdown(label_value(f"**{plain(header)}**", plain(value)))


def team_summary(summary: dict | None, *, none_key: str) -> None:
    """A team's final summary as others read it (the organisation's Outcomes page, the expert's
    Final assessments): each field under the library's label, as plain text; ``none_key`` when
    there is none yet."""
    if summary is None:
        st.caption(t(none_key))
        return
    for field in SUMMARY_FIELDS:
        st.markdown(f"**{t('library.summary_' + field)}**")
        st.text(summary[field])
    if summary["links"]:
        st.markdown(f"**{t('library.links')}**")
        st.text("\n".join(summary["links"]))
