// The cabinet's languages: English and Russian, following the browser unless the user picked one
// with the switch (kept in localStorage: a preference, not a secret). Each page module carries its
// own strings; COMMON holds the words every page shares, so a page can ask for them too.

export const LANGS = ['en', 'ru'];
const LANG_KEY = 'talker.cabinet.lang';

export const COMMON = {
  en: {
    product: 'Talker PBX',
    skip: 'Skip to content',
    nav: 'Cabinet',
    logout: 'Log out',
    switchTo: 'Русский',
    switchLabel: 'Переключить на русский',
    loginTitle: 'Log in to the PBX cabinet',
    login: 'Login (SIP account, mobile or e-mail)',
    password: 'Communicator password',
    loginButton: 'Log in',
    loggingIn: 'Logging in…',
    stale: 'Changed by someone else — reload',
    reload: 'Reload',
    save: 'Save',
    saved: 'Saved',
    cancel: 'Cancel',
    remove: 'Remove',
    add: 'Add',
    copy: 'Copy',
    copied: 'Copied',
    copyFailed: 'Could not copy: select the text and copy it by hand',
    loading: 'Loading…',
    notFound: 'There is no such page.',
    forbidden: 'Only members of Administrators may do this.',
    sessionEnded: 'Your session has ended: log in again.',
    network: 'The PBX does not answer. Check the connection and try again.',
    failed: 'The PBX refused: {message}',
    yes: 'Yes',
    no: 'No',
    shownOnce: 'Shown this once: copy it now.',
    confirmRemove: 'Remove {what}? This cannot be undone.',
  },
  ru: {
    product: 'Talker ВАТС',
    skip: 'К содержимому',
    nav: 'Кабинет',
    logout: 'Выйти',
    switchTo: 'English',
    switchLabel: 'Switch to English',
    loginTitle: 'Вход в кабинет ВАТС',
    login: 'Логин (SIP-аккаунт, мобильный или e-mail)',
    password: 'Пароль коммуникатора',
    loginButton: 'Войти',
    loggingIn: 'Вход…',
    stale: 'Изменено кем-то другим — обновите',
    reload: 'Обновить',
    save: 'Сохранить',
    saved: 'Сохранено',
    cancel: 'Отмена',
    remove: 'Удалить',
    add: 'Добавить',
    copy: 'Копировать',
    copied: 'Скопировано',
    copyFailed: 'Не удалось скопировать: выделите текст и скопируйте вручную',
    loading: 'Загрузка…',
    notFound: 'Такой страницы нет.',
    forbidden: 'Это могут делать только члены группы «Администраторы».',
    sessionEnded: 'Сеанс закончился: войдите снова.',
    network: 'ВАТС не отвечает. Проверьте связь и попробуйте ещё раз.',
    failed: 'ВАТС отказала: {message}',
    yes: 'Да',
    no: 'Нет',
    shownOnce: 'Показывается один раз: скопируйте сейчас.',
    confirmRemove: 'Удалить {what}? Это нельзя отменить.',
  },
};

export function detectLang() {
  const chosen = localStorage.getItem(LANG_KEY);
  if (LANGS.includes(chosen)) return chosen;
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const tag of wanted) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

export function chooseLang(lang) {
  localStorage.setItem(LANG_KEY, lang);
}

// translate(strings, key, vars, lang): the page's own string in `lang`, else its English one,
// else the shared COMMON one; {name} placeholders are filled from `vars`.
export function translate(strings, key, vars, lang) {
  const pick = (table) => table && ((table[lang] && table[lang][key]) ?? (table.en && table.en[key]));
  let text = pick(strings) ?? pick(COMMON) ?? key;
  for (const [name, value] of Object.entries(vars || {})) text = text.split(`{${name}}`).join(String(value));
  return text;
}
