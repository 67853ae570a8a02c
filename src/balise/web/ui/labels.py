"""Human labels for the codes the staff pages show, in the reader's language.

Codes stay codes in the database, the API and the audit trail; a page shows each through
:func:`label` (``{{ label("state", report.state) }}``), booleans through :func:`yes_no`, and a
classification through :func:`classification_parts`. Labels are marked with ``N_`` so that
``make translations`` extracts them; they are translated when shown. A code without a label
is shown as it is (a new code then needs a label here and a translation).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from balise.web.ui import i18n


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


VOCABULARIES: dict[str, dict[str, str]] = {
    # The audit trail's event types (docs/audit-events.md) and subject types, in words.
    "audit_event": {
        "report:create": N_("report received"),
        "report:read": N_("report viewed"),
        "report:transition": N_("report state changed"),
        "report:idempotent_replay": N_("report resent (same key)"),
        "item:create": N_("item received"),
        "item:hash": N_("item hashed"),
        "item:read": N_("item viewed"),
        "item:assess": N_("item assessed"),
        "report:claim": N_("report claimed"),
        "report:release": N_("report released"),
        "report:decide": N_("report decided"),
        "report:public_status": N_("public status looked up"),
        "report:public_addition": N_("public addition to a report"),
        "media:reveal": N_("media revealed"),
        "media:preview": N_("blurred media viewed"),
        "media:refuse": N_("media request refused"),
        "exposure:cap_reached": N_("daily reveal cap reached"),
        "exposure:cap_lift": N_("daily reveal cap lifted"),
        "person:create": N_("person recorded"),
        "person:read": N_("person details viewed"),
        "media:store": N_("media stored in the vault"),
        "media:read": N_("media decrypted"),
        "media:hash": N_("media hashed"),
        "indicator:create": N_("indicator created"),
        "indicator:status": N_("indicator status changed"),
        "indicator:import": N_("indicators imported"),
        "indicator:export": N_("indicators exported"),
        "indicator:match": N_("hash match request"),
        "indicator:confirm": N_("indicator confirmed (four eyes)"),
        "indicator:reject": N_("indicator rejected (four eyes)"),
        "user:preferences": N_("preferences changed"),
        "package:build": N_("evidence package built"),
        "package:custody": N_("evidence package custody"),
        "package:sweep": N_("evidence packages swept"),
        "org:create": N_("organisation created"),
        "org:suspend": N_("organisation suspended"),
        "org:reinstate": N_("organisation reinstated"),
        "apikey:create": N_("API key issued"),
        "apikey:revoke": N_("API key revoked"),
        "grant:request": N_("access grant requested"),
        "grant:approve": N_("access grant approved"),
        "grant:reject": N_("access grant rejected"),
        "grant:revoke": N_("access grant revoked"),
        "grant:expire": N_("access grant expired"),
        "grant:refuse": N_("access refused without a grant"),
        "user:create": N_("user created"),
        "user:login": N_("sign-in"),
        "user:login_failed": N_("failed sign-in"),
        "user:logout": N_("sign-out"),
        "user:disable": N_("user disabled"),
        "user:enable": N_("user enabled again"),
        "user:role_change": N_("user role changed"),
        "user:reset_totp": N_("second factor reset"),
        "user:security_key_add": N_("security key added"),
        "user:security_key_remove": N_("security key removed"),
        "user:security_key_refused": N_("security key refused"),
        "partner:create": N_("partner added"),
        "partner:update": N_("partner updated"),
        "partner:seed": N_("partner directory seeded"),
        "url:fetch": N_("reported URL fetched"),
        "report:route": N_("report routed"),
        "notice:create": N_("notice prepared"),
        "notice:send": N_("notice sent"),
        "notice:fail": N_("notice failed"),
        "notice:acknowledge": N_("notice acknowledged"),
        "notice:retry": N_("notice retried"),
        "takedown:check": N_("removal checked"),
        "takedown:removed": N_("content removed"),
        "takedown:escalate": N_("removal escalated"),
        "hold:set": N_("hold set"),
        "hold:lift": N_("hold lifted"),
        "hold:expire": N_("hold expired"),
        "ispws:credential_create": N_("/ispws credential issued"),
        "ispws:credential_revoke": N_("/ispws credential revoked"),
        "ispws:report_open": N_("/ispws report opened"),
        "ispws:file_upload": N_("/ispws file uploaded"),
        "ispws:file_details": N_("/ispws file details"),
        "ispws:report_finish": N_("/ispws report finished"),
        "ispws:report_retract": N_("/ispws report retracted"),
        "ispws:report_expire": N_("/ispws report expired"),
        "ispws:report_retype": N_("/ispws report type decided"),
        "media:delete": N_("media deleted from the vault"),
        "report:redact": N_("report redacted"),
        "reporter:contact_read": N_("reporter contact viewed"),
        "reporter:contact_delete": N_("reporter contact deleted"),
        "package:delete": N_("evidence package deleted"),
        "retention:run": N_("retention run"),
        "audit:verify": N_("audit trail verified"),
        "audit:read": N_("audit trail viewed"),
        "backup:create": N_("backup made"),
        "backup:restore": N_("backup restored"),
        "transparency:build": N_("transparency report built"),
        "audit:checkpoint": N_("audit checkpoint written"),
        "clock:overdue": N_("deadline passed"),
        "clock:warning": N_("deadline soon"),
        "org:contact_update": N_("organisation contact point changed"),
        "apikey:refused": N_("API key refused"),
        "order:key_register": N_("authority's order-signing key registered"),
        "order:create": N_("order recorded"),
        "order:read": N_("order viewed"),
        "order:transition": N_("order state changed"),
        "order:execute": N_("order execution reported"),
        "order:opinion": N_("centre's opinion on a detection order given"),
        "order:non_disclosure_renew": N_("non-disclosure period renewed"),
        "order:grant": N_("access granted by a detection order"),
        "order:recheck": N_("URLs of an order checked again"),
        "order:escalate": N_("order escalated to its authority"),
        "exchange:fetch": N_("exchange list fetched by a partner"),
        "exchange:subscribe": N_("subscribed to a partner's list"),
        "exchange:pull": N_("partner's list pulled"),
        "exchange:pull_refused": N_("partner's list page refused"),
        "federation:partner_add": N_("partner installation added"),
        "federation:partner_set": N_("partner installation changed"),
        "federation:partner_remove": N_("partner installation removed"),
        "referral:send": N_("URL referred to a partner installation"),
        "referral:acknowledged": N_("referral acknowledged by the partner"),
        "referral:send_refused": N_("referral not delivered"),
        "referral:receive": N_("referral received from a partner"),
        "referral:refuse": N_("federation request refused"),
        "referral:close": N_("outcome of a referral received decided"),
        "referral:outcome_send": N_("referral outcome sent to the partner"),
        "referral:outcome_receive": N_("referral outcome received from the partner"),
        "user:enrolment_link": N_("enrolment link issued"),
        "user:enrol": N_("account enrolled"),
        "user:sso_link": N_("account linked to single sign-on"),
        "sso:refused": N_("single sign-on refused"),
        "entity:extract": N_("entities read from a report"),
        "entity:search": N_("entity search"),
        "entity:graph": N_("report's links shown"),
        "financial:alert": N_("alert sent to a financial partner"),
        "financial:answer": N_("financial partner's answer recorded"),
        "lead:record": N_("file metadata recorded"),
        "lead:read": N_("file metadata viewed"),
        "report:staff_complete": N_("report completed by staff"),
        "organisation:report_defaults": N_("provider's report defaults set"),
        "series:create": N_("series proposed"),
        "series:link": N_("item linked to a series"),
        "series:merge": N_("series merged"),
        "series:split": N_("series split"),
        "series:confirm": N_("series confirmed"),
        "series:identify": N_("series marked as an identified victim"),
        "series:read": N_("series viewed"),
        "series:export": N_("series hashes exported"),
        "series:recluster": N_("series rebuilt from scratch"),
        "victim_request:file": N_("victim's request filed"),
        "victim_request:refuse": N_("victim's request refused"),
        "victim_request:answer": N_("victim's request answered"),
        "victim_request:read": N_("victim's request viewed"),
        "victim_request:removal": N_("removal support started for a victim"),
        "victim_request:order": N_("removal order asked for a victim"),
        "submission:create": N_("authority's submission recorded"),
        "submission:refuse": N_("submission refused"),
        "submission:withdraw": N_("submission withdrawn"),
        "indicator:authority_confirm": N_("indicator confirmed by an authority"),
        "indicator:clock_extend": N_("authority's time for an indicator extended"),
        "indicator:history_read": N_("indicator history viewed"),
        "indicator:verify": N_("indicators re-verified"),
        "urllist:add": N_("URL added to the URL list"),
        "urllist:remove": N_("URL taken off the URL list"),
        "urllist:export": N_("URL list exported"),
        "urllist:verify": N_("URL list sample verified"),
    },
    "sign_in_step": {
        "password": N_("wrong password"),
        "totp": N_("wrong second-factor code"),
        "account disabled": N_("account disabled"),
    },
    "audit_subject": {
        "report": N_("report"),
        "item": N_("item"),
        "media": N_("media"),
        "person": N_("person"),
        "user": N_("user"),
        "audit": N_("audit trail"),
        "indicator": N_("indicator"),
        "package": N_("evidence package"),
        "org": N_("organisation"),
        "organisation": N_("organisation"),
        "apikey": N_("API key"),
        "grant": N_("access grant"),
        "partner": N_("partner"),
        "url": N_("URL"),
        "notice": N_("notice"),
        "takedown": N_("removal"),
        "hold": N_("hold"),
        "ispws": N_("/ispws"),
        "retention": N_("retention"),
        "backup": N_("backup"),
        "transparency": N_("transparency report"),
        "clock": N_("deadline"),
        "reporter": N_("reporter"),
        "exposure": N_("exposure"),
        "ispws_report": N_("/ispws report"),
        "ispws_file": N_("/ispws file"),
        "ispws_credential": N_("/ispws credential"),
        "trail": N_("audit trail"),
        "packages": N_("evidence packages"),
        "blocking_order": N_("blocking order"),
        "entity_index": N_("entity index"),
        "exchange_list": N_("exchange list"),
        "exchange_subscription": N_("list subscription"),
        "indicators": N_("indicators"),
        "order": N_("order"),
        "series": N_("series"),
        "sso_provider": N_("single sign-on provider"),
        "submission": N_("authority's submission"),
        "url_list_entry": N_("URL list entry"),
        "url_list_verification": N_("URL list verification"),
        "victim_request": N_("victim's request"),
        "entity": N_("entity"),
        "financial_alert": N_("financial alert"),
        "lead": N_("file metadata"),
    },
    "state": {
        "received": N_("received"),
        "incomplete": N_("incomplete"),
        "information_requested": N_("information requested"),
        "in_assessment": N_("in assessment"),
        "manifestly_unfounded": N_("manifestly unfounded"),
        "forwarded_europol_and_state": N_("forwarded to Europol and a Member State"),
        "forwarded_europol_only": N_("forwarded to Europol only"),
        "retracted": N_("retracted"),
    },
    "role": {
        "admin": N_("administrator"),
        "analyst": N_("analyst"),
        "senior-analyst": N_("senior analyst"),
        "le-liaison": N_("law-enforcement liaison"),
        "auditor": N_("auditor"),
    },
    "scope": {
        "reports:write": N_("file reports"),
        "reports:read": N_("read its reports"),
        "match": N_("match hashes"),
        "entities:search": N_("search entities"),
    },
    "contact_purpose": {
        "general": N_("general"),
        "technical": N_("technical"),
        "legal": N_("legal"),
        "emergency": N_("emergency"),
    },
    "enrolment": {
        "account": N_("new account"),
        "second_factor": N_("new second factor"),
    },
    "report_type": {
        "known_csam": N_("known child sexual abuse material"),
        "new_csam": N_("new child sexual abuse material"),
        "solicitation": N_("solicitation of children"),
        "url": N_("URL"),
    },
    "service_type": {
        "hosting": N_("hosting service"),
        "interpersonal_communication": N_("interpersonal communication service"),
        "other": N_("other service"),
    },
    "awareness": {
        "detection_order": N_("a detection order"),
        "public_authority": N_("a public authority"),
        "hotline_or_trusted_flagger": N_("a hotline or trusted flagger"),
        "user_flag": N_("a user's notice"),
        "own_motion": N_("its own initiative"),
        "other": N_("other"),
    },
    "user_decision": {
        "none": N_("no action on the user"),
        "block": N_("user blocked"),
        "suspend": N_("user suspended"),
        "terminate": N_("user's account terminated"),
    },
    "item_kind": {
        "media": N_("file"),
        "url": N_("URL"),
        "hash_only": N_("hashes only"),
    },
    "media_type": {
        "image": N_("picture"),
        "video": N_("video"),
        "other": N_("other file"),
    },
    "identifier": {
        "username": N_("user name"),
        "email": N_("email"),
        "phone": N_("phone"),
        "ip": N_("IP address"),
        "payment": N_("payment details"),
        "crypto_wallet": N_("crypto-currency wallet"),
        "user_id": N_("user id"),
        "profile_url": N_("profile URL"),
        "other": N_("other identifier"),
    },
    "person_role": {
        "reported_user": N_("reported user"),
        "victim": N_("victim"),
        "other": N_("other person"),
    },
    "hash_status": {
        "pending": N_("being hashed"),
        "ok": N_("hashed"),
        "low_quality": N_("hashed (too little detail to match)"),
        "error": N_("could not be decoded"),
        "not_applicable": N_("nothing to hash"),
        "not_hashed": N_("not hashed"),
        "provided": N_("hashes given by the provider"),
    },
    "outcome": {
        "illegal": N_("illegal"),
        "not_illegal": N_("not illegal"),
        "cannot_assess": N_("cannot assess"),
    },
    "indicator_kind": {
        "known_csam": N_("known material"),
        "new_csam": N_("new material"),
        "solicitation": N_("solicitation"),
        "url": N_("URL"),
    },
    "ncmec_category": {
        "A1": N_("A1: prepubescent child, sex act"),
        "A2": N_("A2: prepubescent child, lascivious exhibition"),
        "B1": N_("B1: pubescent child, sex act"),
        "B2": N_("B2: pubescent child, lascivious exhibition"),
    },
    "uk_category": {
        "A": N_("A: penetrative or sadistic activity"),
        "B": N_("B: non-penetrative sexual activity"),
        "C": N_("C: other indecent images"),
    },
    "directive": {
        "2c_i": N_("Art. 2(c)(i): a child in sexually explicit conduct"),
        "2c_ii": N_("Art. 2(c)(ii): a child's sexual organs, for sexual purposes"),
        "2c_iii": N_("Art. 2(c)(iii): a person appearing to be a child"),
        "2c_iv": N_("Art. 2(c)(iv): realistic images of a child"),
        "2e": N_("Art. 2(e): pornographic performance"),
    },
    "flag": {
        "generative_ai": N_("made with generative AI"),
        "drawing_cgi": N_("drawing or computer-generated"),
        "deepfake": N_("deepfake"),
        "self_generated": N_("self-generated"),
    },
    "age_band": {
        "0-2": N_("0 to 2 years"),
        "3-6": N_("3 to 6 years"),
        "7-12": N_("7 to 12 years"),
        "13-15": N_("13 to 15 years"),
        "16-17": N_("16 or 17 years"),
        "unknown": N_("unknown"),
    },
    "national": {
        "illegal": N_("illegal"),
        "legal": N_("legal"),
        "unknown": N_("unknown"),
    },
    "actor": {
        "staff": N_("staff"),
        "organisation": N_("provider"),
        "system": N_("Balise"),
        "public": N_("the public"),
    },
    "source": {
        "provider_api": N_("provider API"),
        "ncmec_xml": N_("NCMEC CyberTipline XML"),
        "public_form": N_("public form"),
        "hotline": N_("hotline"),
    },
    "fetch": {
        "served": N_("served"),
        "gone": N_("gone"),
        "unreachable": N_("unreachable"),
        "refused": N_("refused"),
        "error": N_("error"),
    },
    "confidence": {
        "high": N_("high"),
        "medium": N_("medium"),
        "low": N_("low"),
    },
    "takedown": {
        "pending": N_("waiting for notice"),
        "watching": N_("notified, checking removal"),
        "removed": N_("removed"),
        "not_removed": N_("not removed"),
        "on_hold": N_("on hold"),
        "no_contact": N_("no abuse contact"),
        "referred": N_("referred to a partner installation"),
    },
    "referral_status": {
        "pending": N_("waiting to be delivered"),
        "acknowledged": N_("acknowledged by the partner"),
        "refused": N_("refused by the partner"),
        "closed": N_("closed"),
        "open": N_("open: outcome to decide"),
    },
    "referral_outcome": {
        "removed": N_("removed"),
        "not_illegal": N_("not illegal"),
    },
    "notice_kind": {
        "police_forward": N_("forward to the police"),
        "host_notice": N_("notice to the host"),
        "hotline_referral": N_("referral to a hotline"),
        "provider_feedback": N_("feedback to the provider"),
        "financial_alert": N_("alert to a financial partner"),
        "escalation": N_("escalation"),
    },
    "notice_status": {
        "pending": N_("pending"),
        "sent": N_("sent"),
        "acknowledged": N_("acknowledged"),
        "failed": N_("failed"),
        "held": N_("held"),
    },
    "partner_kind": {
        "hotline": N_("hotline"),
        "police": N_("police"),
        "europol": N_("Europol"),
        "coordinating_authority": N_("coordinating authority"),
        "bank": N_("bank"),
        "card_scheme": N_("card scheme"),
        "payment_provider": N_("payment provider"),
        "crypto_exchange": N_("crypto-currency exchange"),
    },
    "financial_reason": {
        "payment_for_csam": N_("paid for child sexual abuse material"),
        "sale_of_csam": N_("received payment for selling child sexual abuse material"),
        "sextortion_payment": N_("received payments extorted from a child"),
        "grooming_payment": N_("sent money to a child in the course of grooming"),
        "other": N_("another reason"),
    },
    "financial_outcome": {
        "account_closed": N_("account closed"),
        "account_frozen": N_("account frozen"),
        "under_review": N_("under review"),
        "no_action": N_("no action"),
        "not_ours": N_("not one of theirs"),
    },
    "channel": {
        "email": N_("email"),
        "webhook": N_("webhook"),
        "export": N_("export"),
        "none": N_("no channel"),
    },
    "unfounded": {
        "adult_content": N_("the people shown are adults"),
        "no_minor_visible": N_("no child is visible or involved"),
        "innocent_context": N_("innocent context (family, medical, educational)"),
        "lawful_fiction": N_("drawn or fictional content that is not illegal"),
        "technical_error": N_("the detection was a technical error (hash collision, wrong file)"),
        "other": N_("other reason, explained in the text"),
    },
    "search_field": {
        "any": N_("everything"),
        "report": N_("report id or number"),
        "provider": N_("provider"),
        "url": N_("URL"),
        "hash": N_("hash"),
    },
    "algorithm": {
        "md5": N_("MD5"),
        "sha1": N_("SHA-1"),
        "sha256": N_("SHA-256"),
        "video_md5": N_("MD5 of the video"),
        "pdq": N_("PDQ"),
        "vpdq": N_("vPDQ"),
        "photodna": N_("PhotoDNA"),
        "url": N_("URL"),
    },
    "clock_kind": {
        "assessment": N_("assessment"),
        "information_request": N_("information request"),
        "indicator_confirmation": N_("indicator confirmation"),
        "authority_confirmation": N_("authority's confirmation"),
        "removal": N_("removal"),
        "hold_expiry": N_("end of a hold"),
        "unfinished_ncmec": N_("unfinished NCMEC report"),
        "order_removal": N_("removal order (24 h)"),
        "order_opinion": N_("opinion on a draft detection order"),
        "order_period": N_("end of a detection order"),
    },
    "clock_state": {
        "running": N_("running"),
        "due_soon": N_("due soon"),
        "overdue": N_("overdue"),
    },
    "clock_subject": {
        "report": N_("report"),
        "indicator": N_("indicator"),
        "item": N_("item"),
        "hold": N_("hold"),
        "ispws_report": N_("NCMEC-API report"),
        "order": N_("order"),
    },
    "org_kind": {
        "provider": N_("provider"),
        "hotline": N_("hotline"),
        "law_enforcement": N_("law enforcement"),
        "centre": N_("EU Centre"),
        "coordinating_authority": N_("coordinating authority"),
    },
    "reveal_purpose": {
        "classify": N_("classify the item"),
        "age": N_("estimate the age of the people shown"),
        "compare": N_("compare with a match or a near-duplicate"),
        "identify": N_("look for clues to identify a victim, an offender or a place"),
        "check_file": N_("check that the file is what the report says"),
    },
    "grant_database": {
        "known_indicators": N_("indicators of known material"),
        "new_indicators": N_("indicators of new material"),
        "solicitation_indicators": N_("indicators of solicitation"),
        "url_list": N_("URL list"),
        "reports": N_("reports"),
        "series": N_("hashes of series"),
    },
    "grant_operation": {
        "match": N_("match hashes"),
        "download": N_("download indicators"),
        "read_reports": N_("read reports"),
    },
    "order_kind": {
        "removal": N_("removal order"),
        "blocking": N_("blocking order"),
        "detection": N_("detection order"),
    },
    "order_state": {
        "draft": N_("draft for the centre's opinion"),
        "issued": N_("issued"),
        "received": N_("received by the provider"),
        "clarification_requested": N_("clarification requested"),
        "impossible": N_("impossible to execute"),
        "executed": N_("executed"),
        "challenged": N_("challenged"),
        "final": N_("final"),
        "revoked": N_("revoked"),
    },
    "order_part": {
        "authority": N_("the issuing authority"),
        "provider": N_("the provider"),
        "staff": N_("staff of the centre"),
        "system": N_("Balise"),
    },
    "order_execution": {
        "removed": N_("material removed"),
        "disabled": N_("access disabled in every Member State"),
    },
    "check_outcome": {
        "served": N_("still served"),
        "gone": N_("gone"),
        "changed": N_("something else is served"),
        "media_gone": N_("the pictures are gone"),
        "unreachable": N_("unreachable"),
        "refused": N_("not fetched (refused address)"),
        "error": N_("error"),
    },
    "series_status": {
        "proposed": N_("proposed by Balise"),
        "confirmed": N_("confirmed by an analyst"),
        "merged": N_("merged into another series"),
        "empty": N_("no items any more"),
    },
    "grant_state": {
        "requested": N_("requested"),
        "awaiting_second_approval": N_("approved once, awaiting a second administrator"),
        "approved": N_("approved"),
        "rejected": N_("rejected"),
        "revoked": N_("revoked"),
        "expired": N_("expired"),
    },
    "indicator_status": {
        "candidate": N_("candidate, waiting for a second analyst"),
        "candidate_awaiting_authority": N_("waiting for a coordinating authority's confirmation"),
        "active": N_("active"),
        "suspended": N_("suspended"),
        "deleted": N_("deleted"),
    },
    "submission_process": {
        "authority_confirmation": N_("confirmed by a competent authority"),
        "court_decision": N_("court decision"),
    },
    "submission_channel": {
        "api": N_("API"),
        "ui": N_("staff pages"),
        "cli": N_("command line"),
    },
    "history_action": {
        "created": N_("generated from a submission"),
        "proposed": N_("proposed by an analyst's assessment"),
        "four_eyes": N_("confirmed by a second analyst; sent to the authority"),
        "rejected": N_("rejected by a second analyst"),
        "authority_confirmed": N_("confirmed by the authority's submission"),
        "reconfirmed": N_("named again by a later decision"),
        "clock_extended": N_("authority's time extended to 2 months"),
        "status": N_("status changed by staff"),
        "submission_withdrawn": N_("submission withdrawn by the authority"),
        "verified": N_("periodic re-verification found a problem"),
    },
    "url_list_state": {
        "listed": N_("listed"),
        "removed": N_("taken off the list"),
    },
    # Cross-report entities (docs/intelligence.md).
    "entity_kind": {
        "account": N_("account"),
        "email": N_("e-mail address"),
        "phone": N_("phone number"),
        "ip": N_("IP address"),
        "url": N_("URL"),
        "domain": N_("domain"),
        "iban": N_("IBAN"),
        "card_bin": N_("card BIN (first six digits)"),
        "payment_account": N_("payment account"),
        "bitcoin": N_("Bitcoin address"),
        "ethereum": N_("Ethereum address"),
        "monero": N_("Monero address"),
        "file_name": N_("file name"),
    },
    "entity_problem": {
        "bad_checksum": N_("the checksum does not match"),
        "bad_syntax": N_("not written as such a value"),
        "unknown_format": N_("format not recognised"),
        "no_country_code": N_("no country code and no country to read it in"),
        "not_a_number": N_("not a valid number"),
        "too_long": N_("too long"),
    },
    "lead_problem": {
        "exif_corrupt": N_("the EXIF block is corrupt"),
        "gps_corrupt": N_("the GPS position is corrupt"),
        "xmp_too_large": N_("the XMP packet is too large to read"),
        "xmp_corrupt": N_("the XMP packet is corrupt"),
        "c2pa_invalid": N_("the C2PA manifest does not validate (signature, chain or hashes)"),
        "c2pa_unreadable": N_("the C2PA manifest cannot be read"),
        "file_truncated_for_metadata": N_("only the start of the file was read"),
        "metadata_timeout": N_("reading the metadata took too long"),
        "metadata_crash": N_("reading the metadata failed"),
    },
    "entity_source": {
        "identifier": N_("identifier of a person or account"),
        "service": N_("the service's URL"),
        "item_url": N_("an item's URL"),
        "item_file_name": N_("an item's file name"),
        "free_text": N_("free text"),
        "metadata": N_("an item's metadata"),
    },
}

# Priority reasons: the number in the stored English detail is kept.
REASONS = {
    "urgent": N_("the provider says urgent action is needed"),
    "imminent_threat": N_("imminent threat to a child's life or safety"),
    "new_material": N_("%(n)s item(s) match no indicator: possibly new victims"),
    "victim_information": N_("the report carries information on a child victim"),
    "youngest_age_band": N_("youngest victim %(n)s years"),
    "waiting": N_("waiting %(n)s h"),
    "known_series_unidentified": N_("%(n)s item(s) of a known series whose victim is not identified: possible ongoing abuse"),
    "known_series_identified": N_("%(n)s item(s) of a known series whose victim is identified"),
    "generative": N_("%(n)s item(s) declare generative AI (C2PA or XMP): still abuse material, routed for review"),
}


def label(vocabulary: str, code: Any) -> str:
    if code is None or code == "":
        return "—"
    text = VOCABULARIES[vocabulary].get(str(code))
    return i18n.gettext(text) if text else str(code)


def yes_no(value: Any) -> str:
    if value is None:
        return "—"
    return i18n.gettext("yes") if value else i18n.gettext("no")


def reason(entry: dict[str, Any]) -> str:
    template = REASONS.get(str(entry.get("code")))
    detail = str(entry.get("detail") or entry.get("code") or "")
    if template is None:
        return detail
    if "%(n)s" in template:
        found = re.search(r"\d+(?:-\d+)?", detail)
        if found is None:
            return detail
        return i18n.gettext(template) % {"n": found.group(0)}
    return i18n.gettext(template)


def assessment_source(source: str | None) -> str:
    if not source:
        return "—"
    if source == "analyst":
        return i18n.gettext("by an analyst")
    found = re.fullmatch(r"reuse:indicator:(\d+)", source)
    if found:
        return i18n.gettext("re-used from confirmed indicator #%(id)s") % {"id": found.group(1)}
    return source


CLASSIFICATION_SCHEMES = (
    ("interpol_baseline", N_("INTERPOL baseline"), None),
    ("ncmec_category", N_("NCMEC"), "ncmec_category"),
    ("uk_category", N_("UK"), "uk_category"),
    ("youngest_age_band", N_("Youngest age band"), "age_band"),
    ("directive_2011_93", N_("Directive 2011/93"), "directive"),
    ("flags", N_("Flags"), "flag"),
)


def classification_parts(classification: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(scheme, value) pairs in words, in a fixed order; unknown keys last, as given."""
    if not classification:
        return []
    parts: list[tuple[str, str]] = []
    for key, title, vocabulary in CLASSIFICATION_SCHEMES:
        value = classification.get(key)
        if value in (None, "", [], False):
            continue
        if vocabulary is None:
            text = yes_no(value)
        elif isinstance(value, (list, tuple)):
            text = ", ".join(label(vocabulary, v) for v in value)
        else:
            text = label(vocabulary, value)
        parts.append((i18n.gettext(title), text))
    national = classification.get("national")
    if isinstance(national, dict) and national:
        parts.append((i18n.gettext("National illegality"),
                      ", ".join(f"{code} {label('national', verdict)}" for code, verdict in sorted(national.items()))))
    known = {k for k, _, _ in CLASSIFICATION_SCHEMES} | {"national", "source"}
    for key, value in classification.items():
        if key not in known:
            parts.append((str(key), ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)))
    return parts


def due(minutes: int) -> str:
    """A deadline as a reader says it: "due in 23 h", "due in 40 min", "late by 2 h"."""
    late, left = minutes < 0, abs(minutes)
    if left >= 48 * 60:
        amount = i18n.gettext("%(n)s days") % {"n": left // (24 * 60)}
    elif left >= 60:
        amount = i18n.gettext("%(n)s h") % {"n": left // 60}
    else:
        amount = i18n.gettext("%(n)s min") % {"n": left}
    return (i18n.gettext("late by %(time)s") if late else i18n.gettext("due in %(time)s")) % {"time": amount}


# Priority bands, highest first, by the score triage gave (domain/triage.py): urgent reports
# score 100,000 and up, an imminent threat 5,000, a young victim or new material 1,500 and more.
PRIORITY_BANDS = (
    (100_000, "urgent", N_("urgent")),
    (5_000, "very_high", N_("very high")),
    (1_500, "high", N_("high")),
    (300, "medium", N_("medium")),
    (0, "low", N_("low")),
)


def priority_band(score: int | None) -> tuple[str, str]:
    """(code for the style, word) of a priority score."""
    for floor, code, word in PRIORITY_BANDS:
        if (score or 0) >= floor:
            return code, i18n.gettext(word)
    return "low", i18n.gettext("low")


@lru_cache(maxsize=256)
def _choices(kind: str, name: str, vocabulary: str, codes: tuple[str, ...], selected: str, language: int) -> Markup:
    if kind == "options":
        return Markup("").join(
            Markup('<option value="{}"{}>{}</option>').format(code, Markup(" selected") if code == selected else "",
                                                            label(vocabulary, code)) for code in codes)
    return Markup(" ").join(
        Markup('<label><input type="checkbox" name="{}" value="{}"> {}</label>').format(name, code, label(vocabulary, code))
        for code in codes)


def options(vocabulary: str, codes: Any, selected: str = "") -> Markup:
    """``<option>`` elements for ``codes``, each with its label: made once per language, as a
    page of many items repeats the same lists (bench_report_page.py)."""
    return _choices("options", "", vocabulary, tuple(codes), selected, id(i18n._current.get()))


def checkboxes(name: str, vocabulary: str, codes: Any) -> Markup:
    """A labelled checkbox named ``name`` for each of ``codes``, made once per language."""
    return _choices("checkboxes", name, vocabulary, tuple(codes), "", id(i18n._current.get()))


def install(env: Any) -> None:
    """Make the helpers available to every template."""
    env.globals.update(label=label, yes_no=yes_no, reason_text=reason, assessment_source=assessment_source,
                       classification_parts=classification_parts, vocabulary=lambda name: VOCABULARIES[name],
                       due=due, priority_band=priority_band, options=options, checkboxes=checkboxes)
