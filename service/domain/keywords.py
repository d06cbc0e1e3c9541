"""Campaign lists and the keywords that join them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import Conflict, InvalidInput
from service.models import CampaignList, Keyword
from service.sms import parser

RESERVED = (
    parser.OPT_OUT
    | parser.OPT_IN
    | parser.HELP
    | parser.STAFF_WORDS
    | set(parser.JOIN)
    | set(parser.ZONE)
    | set(parser.REPORT)
    | set(parser.FORGET)
    | set(parser.LANGUAGE)
    | {"RSVP"}
)
LANGUAGES = ("en", "es")


def get_or_create_list(session: Session, name: str) -> CampaignList:
    campaign = session.scalar(select(CampaignList).where(CampaignList.name == name))
    if campaign is None:
        campaign = CampaignList(name=name)
        session.add(campaign)
        session.flush()
    return campaign


def add_keyword(session: Session, word: str, list_name: str, language: str = "en") -> Keyword:
    folded = parser.fold(word)
    if not folded.isalnum() or len(folded) > 30:
        raise InvalidInput(f"keyword {word!r} must be one word of letters and digits (max 30)")
    if folded in RESERVED:
        raise InvalidInput(f"keyword {folded} is reserved for a built-in command")
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if not list_name.strip() or len(list_name) > 60:
        raise InvalidInput("list name must be 1-60 characters")
    if session.get(Keyword, folded) is not None:
        raise Conflict(f"keyword {folded} already exists")
    keyword = Keyword(
        word=folded, list_id=get_or_create_list(session, list_name.strip()).id, language=language
    )
    session.add(keyword)
    session.flush()
    return keyword
