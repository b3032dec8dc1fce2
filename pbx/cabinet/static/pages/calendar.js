// The production calendar: a year at a glance (working days, days off, shortened days, days off
// moved from a weekend, working weekends), a day changed by clicking it, and a year imported from
// the common XML format. A year with nothing imported is said loudly: without it every Monday to
// Friday counts as a working day, New Year's Day included, and schedules ring accordingly.

import { registerPage, el, errorText, toast } from '../app.js';

const S = {
  en: {
    title: 'Production calendar', year: 'Year', prev: 'Previous year', next: 'Next year',
    notImported: 'The production calendar for {year} has not been imported: every Monday to Friday counts as a working day and every Saturday and Sunday as a day off — holidays included. Import the year below or mark its days by hand.',
    legend: 'Legend', working: 'working day', day_off: 'day off', shortened: 'shortened (pre-holiday) day',
    moved: 'day off moved from {from}', workingWeekend: 'working Saturday or Sunday', holiday: 'holiday: {name}',
    edit: 'Change {date}', kind: 'The day is', default: 'As the weekday says (no exception)',
    holidayName: 'Holiday name (optional)', save: 'Save', close: 'Close', saved: '{date}: saved.',
    importTitle: 'Import a year (XML calendar)', importFile: 'XML file', importButton: 'Import',
    imported: 'Imported: {days} days of {year}.', chooseFile: 'Choose an XML file first.',
    readOnly: 'Only members of Administrators may change the calendar.',
    months: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
    weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
  },
  ru: {
    title: 'Производственный календарь', year: 'Год', prev: 'Предыдущий год', next: 'Следующий год',
    notImported: 'Производственный календарь на {year} год не загружен: все дни с понедельника по пятницу считаются рабочими, суббота и воскресенье — выходными, праздники тоже. Загрузите год ниже или отметьте дни вручную.',
    legend: 'Обозначения', working: 'рабочий день', day_off: 'выходной', shortened: 'сокращённый (предпраздничный) день',
    moved: 'выходной, перенесённый с {from}', workingWeekend: 'рабочая суббота или воскресенье', holiday: 'праздник: {name}',
    edit: 'Изменить {date}', kind: 'Этот день', default: 'Как по дню недели (без исключения)',
    holidayName: 'Название праздника (необязательно)', save: 'Сохранить', close: 'Закрыть', saved: '{date}: сохранено.',
    importTitle: 'Загрузить год (XML-календарь)', importFile: 'XML-файл', importButton: 'Загрузить',
    imported: 'Загружено: {days} дн. за {year} год.', chooseFile: 'Сначала выберите XML-файл.',
    readOnly: 'Менять календарь могут только члены группы «Администраторы».',
    months: ['Январь', 'Февраль', 'Март', 'Апрель', 'Май', 'Июнь', 'Июль', 'Август', 'Сентябрь', 'Октябрь', 'Ноябрь', 'Декабрь'],
    weekdays: ['Пн', 'Вт', 'Ср', 'Чт', 'Пт', 'Сб', 'Вс'],
  },
};

const iso = (y, m, d) => `${y}-${String(m + 1).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

registerPage('calendar', {
  title: { en: 'Calendar', ru: 'Календарь' },
  adminOnly: false,
  async render(container, ctx) {
    const t = (key, vars) => ctx.t(S, key, vars);
    const words = S[ctx.lang] || S.en;
    const editable = Boolean(ctx.me && ctx.me.administrator);
    const year = Number(ctx.params[0]) || new Date().getFullYear();
    const read = await ctx.api.get(`/calendar?year=${year}`);
    let etag = read.etag;
    const days = new Map(read.body.days.map((d) => [d.date, d]));
    const status = el('p', { class: 'error', role: 'alert', id: 'calendar-status' });
    const editor = el('div', { id: 'calendar-editor' });

    const describe = (date, weekday) => {
      const e = days.get(date);
      const parts = [];
      if (!e) parts.push(t(weekday >= 5 ? 'day_off' : 'working'));
      else if (e.kind === 'working') parts.push(t('workingWeekend'));
      else parts.push(t(e.kind));
      if (e && e.moved_from) parts.push(t('moved', { from: e.moved_from }));
      if (e && e.holiday) parts.push(t('holiday', { name: e.holiday }));
      return parts.join(', ');
    };
    const kindOf = (date, weekday) => {
      const e = days.get(date);
      if (!e) return weekday >= 5 ? 'day_off' : 'working';
      return e.kind;
    };

    function openEditor(date, button) {
      const e = days.get(date);
      const kindId = 'calendar-kind';
      const select = el('select', { id: kindId, name: 'kind' },
        el('option', { value: '' }, t('default')),
        ['day_off', 'working', 'shortened'].map((k) => el('option', { value: k, selected: e && e.kind === k },
          k === 'working' ? t('workingWeekend') : t(k))));
      const holiday = el('input', { id: 'calendar-holiday', name: 'holiday', value: (e && e.holiday) || '', autocomplete: 'off' });
      const formStatus = el('p', { class: 'error', role: 'alert' });
      const close = () => { editor.replaceChildren(); button.focus(); };
      const form = el('form', { class: 'card', id: 'calendar-day-form', 'aria-labelledby': 'calendar-edit-title' },
        el('h2', { id: 'calendar-edit-title', tabindex: '-1' }, t('edit', { date })),
        el('label', { for: kindId }, t('kind')), select,
        el('label', { for: 'calendar-holiday' }, t('holidayName')), holiday,
        formStatus,
        el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'calendar-day-save' }, t('save')),
          el('button', { type: 'button', onclick: close }, t('close'))));
      form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') close(); });
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
          const r = select.value
            ? await ctx.api.send('PUT', `/calendar/days/${date}`, { kind: select.value, holiday: holiday.value.trim() || null,
              moved_from: (e && e.moved_from) || null }, { etag })
            : await ctx.api.send('DELETE', `/calendar/days/${date}`, undefined, { etag });
          etag = r.etag;
          toast(t('saved', { date }));
          ctx.reload();
        } catch (err) {
          formStatus.textContent = err.stale ? `${errorText(err, ctx)}` : errorText(err, ctx);
          if (err.stale) formStatus.append(' ', el('button', { type: 'button', class: 'link', onclick: () => ctx.reload() }, ctx.t(S, 'reload')));
        }
      });
      editor.replaceChildren(form);
      form.querySelector('h2').focus();
    }

    const months = words.months.map((monthName, m) => {
      const first = new Date(Date.UTC(year, m, 1));
      const lead = (first.getUTCDay() + 6) % 7;
      const count = new Date(Date.UTC(year, m + 1, 0)).getUTCDate();
      const cells = [];
      for (let i = 0; i < lead; i++) cells.push(el('td', {}));
      for (let d = 1; d <= count; d++) {
        const date = iso(year, m, d);
        const weekday = (lead + d - 1) % 7;
        const e = days.get(date);
        const kind = kindOf(date, weekday);
        const cls = ['day', kind, e && e.moved_from ? 'moved' : '', e && e.kind === 'working' ? 'working-weekend' : '',
          e ? 'exception' : ''].filter(Boolean).join(' ');
        const text = describe(date, weekday);
        const content = editable
          ? el('button', { type: 'button', class: cls, 'data-date': date, 'aria-label': `${d} ${monthName}: ${text}`,
            title: text, onclick: (ev) => openEditor(date, ev.currentTarget) }, String(d))
          : el('span', { class: cls, 'data-date': date, title: text, 'aria-label': `${d} ${monthName}: ${text}`, role: 'img' }, String(d));
        cells.push(el('td', {}, content, kind === 'shortened' ? el('span', { class: 'mark', 'aria-hidden': 'true' }, '*') : null));
      }
      const rows = [];
      for (let i = 0; i < cells.length; i += 7) rows.push(el('tr', {}, cells.slice(i, i + 7)));
      return el('table', { class: 'month' }, el('caption', {}, monthName),
        el('thead', {}, el('tr', {}, words.weekdays.map((w) => el('th', { scope: 'col' }, w)))),
        el('tbody', {}, rows));
    });

    const imported = read.body.days.some((d) => d.date.startsWith(`${year}-`));
    const fileInput = el('input', { type: 'file', id: 'calendar-file', accept: '.xml,application/xml,text/xml' });
    const importStatus = el('p', { class: 'error', role: 'alert', id: 'calendar-import-status' });
    const importForm = editable ? el('form', { class: 'card', id: 'calendar-import' },
      el('h2', {}, t('importTitle')),
      el('label', { for: 'calendar-file' }, t('importFile')), fileInput, importStatus,
      el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'calendar-import-button' }, t('importButton')))) : null;
    if (importForm) {
      // Another file chosen: what was said about the last one (or about none) no longer holds.
      fileInput.addEventListener('change', () => { importStatus.replaceChildren(); });
      importForm.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const file = fileInput.files[0];
        if (!file) { importStatus.textContent = t('chooseFile'); return; }
        try {
          const r = await ctx.api.send('POST', '/calendar/import', await file.text(), { etag, contentType: 'application/xml' });
          const match = /year\s*=\s*"(\d{4})"/.exec(await file.text());
          const y = match ? Number(match[1]) : year;
          toast(t('imported', { days: r.body.days.filter((d) => d.date.startsWith(`${y}-`)).length, year: y }));
          ctx.navigate(`/calendar/${y}`);
        } catch (err) {
          importStatus.textContent = errorText(err, ctx);
          if (err.stale) importStatus.append(' ', el('button', { type: 'button', class: 'link', onclick: () => ctx.reload() }, ctx.t(S, 'reload')));
        }
      });
    }

    container.append(...[
      el('h1', {}, `${t('title')} ${year}`),
      el('nav', { class: 'actions', 'aria-label': t('year') },
        el('a', { href: `#/calendar/${year - 1}`, id: 'calendar-prev', title: t('prev') }, `← ${year - 1}`),
        el('strong', {}, String(year)),
        el('a', { href: `#/calendar/${year + 1}`, id: 'calendar-next', title: t('next') }, `${year + 1} →`)),
      imported ? null : el('p', { class: 'notice', role: 'status', id: 'calendar-not-imported' }, t('notImported', { year })),
      editable ? null : el('p', { class: 'muted' }, t('readOnly')),
      el('ul', { class: 'legend', 'aria-label': t('legend') },
        el('li', {}, el('span', { class: 'day working' }, '1'), ' ', t('working')),
        el('li', {}, el('span', { class: 'day day_off' }, '1'), ' ', t('day_off')),
        el('li', {}, el('span', { class: 'day shortened' }, '1'), '* ', t('shortened')),
        el('li', {}, el('span', { class: 'day day_off moved' }, '1'), ' ', t('moved', { from: '…' })),
        el('li', {}, el('span', { class: 'day working working-weekend' }, '1'), ' ', t('workingWeekend'))),
      status, editor,
      el('div', { class: 'year' }, months),
      importForm].filter(Boolean));
  },
});
