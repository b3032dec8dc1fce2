"""User-facing text in English and Russian, chosen by the system locale.

Standard library only: the `talker --callto` path imports this. TALKER_LANG=ru|en overrides the
locale (tests use it).
"""

from __future__ import annotations

import os
import sys

LANGUAGES = ("en", "ru")

# key: (English, Russian). Placeholders are str.format fields. The texts of the short-lived
# commands are here; the app's (tray, windows, PBX) are in common/i18n_app.py.
MESSAGES: dict[str, tuple[str, str]] = {
    # --- what a dial target may not be (talker --callto, links, the dial field) ---
    "target.empty": ("No number to call was given.", "Не указан номер для звонка."),
    "target.too_long": ("The number to call is too long.", "Слишком длинный номер для звонка."),
    "target.option": ("“{target}” looks like an option, not a number to call.",
                      "«{target}» похоже на параметр, а не на номер для звонка."),
    "target.control": ("The number to call contains control characters.",
                       "Номер для звонка содержит управляющие символы."),
    "target.headers": ("A link to call may carry only a number, not “?” headers.",
                       "Ссылка для звонка может содержать только номер, без заголовков «?»."),
    "target.parameter": ("A link to call may carry only a number; the parameter “{param}” is not allowed.",
                         "Ссылка для звонка может содержать только номер; параметр «{param}» недопустим."),
    "target.no_digits": ("“{target}” is not a phone number.", "«{target}» — не номер телефона."),
    "target.too_many_digits": ("A phone number has at most {max} digits.",
                               "В номере телефона не больше {max} цифр."),
    "target.bad_characters": ("“{target}” is not a phone number: it contains “{char}”.",
                              "«{target}» — не номер телефона: в нём есть «{char}»."),
    "target.impossible": ("“{target}” is not a valid phone number for region {region}.",
                          "«{target}» — неправильный номер телефона для региона {region}."),
    "target.unknown_name": ("“{target}” is neither a phone number nor a name known to your PBX.",
                            "«{target}» — не номер телефона и не имя, известное вашей ВАТС."),
    # --- the app and its control channel ---
    "app.not_running": ("Talker is not running.", "Talker не запущен."),
    "app.start_failed": ("Talker could not be started: {detail}", "Не удалось запустить Talker: {detail}"),
    "app.no_reply": ("Talker did not answer in time.", "Talker не ответил вовремя."),
    "app.already_running": ("Talker is already running.", "Talker уже запущен."),
    # Without a graphical session a terminal is all there is; with one, the login window opens.
    "app.no_account": ("You are not logged in: log in to your company's PBX with "
                       "“talker --login LOGIN --pbx ADDRESS”.",
                       "Вход не выполнен: войдите в ВАТС вашей компании командой "
                       "«talker --login ЛОГИН --pbx АДРЕС»."),
    "app.bad_sip_account": ("This is not a SIP account: give the user as user or user@domain, and the server "
                            "as host or host:port.",
                            "Это не SIP-аккаунт: укажите пользователя как пользователь или пользователь@домен, "
                            "а сервер как адрес или адрес:порт."),
    "app.no_account_window": ("You are not logged in: log in to your company's PBX in the window that opened.",
                              "Вход не выполнен: войдите в ВАТС вашей компании в открывшемся окне."),
    "app.refused": ("The Talker control channel refused this client.",
                    "Канал управления Talker отказал этому клиенту."),
    "app.bad_message": ("The message to Talker is not valid: {detail}",
                        "Сообщение для Talker некорректно: {detail}"),
    "app.forbidden_client": ("This request is not allowed from {client}.", "Этот запрос недоступен для {client}."),
    "app.internal": ("Talker failed to do this; details are in its log.",
                     "Talker не смог это сделать; подробности в журнале."),
    "call.started": ("Calling {number}…", "Звоним на {number}…"),
    "call.not_registered": ("Not registered with the PBX ({detail}): the call was not placed.",
                            "Нет регистрации на ВАТС ({detail}): звонок не совершён."),
    "call.none": ("There is no such call.", "Такого звонка нет."),
    "call.failed": ("The call could not be placed: {detail}", "Не удалось позвонить: {detail}"),
    "cli.logged_in": ("Logged in as {name} ({extension}) at {url}.", "Вход выполнен: {name} ({extension}), {url}."),
    # --- command-line help ---
    "cli.description": ("Talker, a desktop communicator for your company's PBX.",
                        "Talker — настольный коммуникатор для ВАТС вашей компании."),
    "cli.configured": ("The account {account} is saved.", "Аккаунт {account} сохранён."),
    "cli.switched": ("The running Talker now uses the account {account}.",
                     "Запущенный Talker теперь работает с аккаунтом {account}."),
    "cli.password_prompt": ("SIP password for {account}: ", "SIP-пароль для {account}: "),
    "cli.no_password": ("No password was given.", "Пароль не указан."),
}


def detect_language(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    override = environ.get("TALKER_LANG", "")
    if override in LANGUAGES:
        return override
    # POSIX precedence: LANGUAGE (a list), then LC_ALL, LC_MESSAGES, LANG.
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var, "")
        if not value:
            continue
        for item in value.split(":"):
            lang = item.split("_", 1)[0].split(".", 1)[0].lower()
            if lang in LANGUAGES:
                return lang
            if lang and lang not in ("c", "posix"):
                return "en"
    if sys.platform in ("win32", "darwin"):
        import locale

        name = (locale.getlocale()[0] or "").lower()
        if name.startswith("ru") or name.startswith("russian"):
            return "ru"
    return "en"


_language: str | None = None


def language() -> str:
    global _language
    if _language is None:
        _language = detect_language()
    return _language


def _texts(key: str) -> tuple[str, str]:
    found = MESSAGES.get(key)
    if found is None:
        # The app's own texts (tray, windows, PBX) load on first use: short-lived commands
        # such as `talker --callto` never pay for them.
        from common.i18n_app import APP_MESSAGES

        found = APP_MESSAGES[key]
    return found


def has_text(key: str) -> bool:
    try:
        _texts(key)
    except KeyError:
        return False
    return True


def tr(key: str, **params: object) -> str:
    en, ru = _texts(key)
    text = ru if language() == "ru" else en
    return text.format(**params) if params else text
