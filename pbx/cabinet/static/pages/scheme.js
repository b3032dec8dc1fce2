// The employee card's "Receive scheme" tab: the same editor the tray has (mode, devices with
// Active switches, their order by drag or by keyboard, ring timeouts, schedules) and the PBX's
// own "who rings at this moment, and why" (GET …/ringplan). Every rule is the PBX's: the form
// sends the whole scheme with the ETag it read (PUT, If-Match) and shows what the PBX refuses.

import { el, errorText, problemText as sentenceOf, toast } from '../app.js';

const S = {
  en: {
    heading: 'Receive scheme',
    mode: 'When someone calls', main_only: 'Only the main number (the first active device)',
    all_at_once: 'All devices at once', in_turn: 'In turn, top to bottom',
    timezone: 'Time zone of the schedules',
    devices: 'Devices (top = first)', noDevices: 'No devices: calls to this employee ring nowhere.',
    sip: 'SIP account {address}', external: 'Number {address}',
    active: 'Active', timeout: 'Ring timeout, seconds',
    timeoutHelp: '0 = ∞, rings until answered — at most {limit} s, the PBX-wide limit',
    forever: '∞ until answered (at most {limit} s, the PBX-wide limit)', seconds: '{n} s',
    up: 'Move up', down: 'Move down', moveLabel: '{what}: {dir}', dragHint: 'Drag a device, or focus it and press Alt+↑ / Alt+↓, to change the order.',
    moved: '{what} is now number {n} of {total}.',
    schedule: 'Schedule', always: 'always', setSchedule: 'Set', changeSchedule: 'Change',
    noSchedule: 'Ring always (no schedule)', scheduleOf: 'Schedule of {what}', rules: 'Rings when any of these applies:',
    allDay: 'all day', workingDays: 'Working days', daysOff: 'Days off', noDays: 'no days', noRules: 'no rules',
    ruleType: 'Rule {n}', working_days: 'Working days (production calendar)', days_off: 'Days off (production calendar)',
    weekdays: 'These weekdays', period: 'A date period', from: 'From', to: 'To', startDate: 'First day', endDate: 'Last day',
    hoursFrom: 'From', hoursTo: 'Until', wholeDay: 'All day.', addHours: 'Add hours', removeHours: 'Remove hours {n}', addRule: 'Add a rule', removeRule: 'Remove rule {n}',
    addNumber: 'Add an external number (international format)', addNumberButton: 'Add number',
    removeDevice: 'Remove {what}', saved: 'Saved: the next incoming call rings this way.',
    readOnly: 'Only members of Administrators may change receive schemes; this is how yours works now.',
    problems: 'The PBX did not accept the scheme:',
    previewTitle: 'Who rings, and why', previewDate: 'Date', previewTime: 'Time (in the scheme\'s zone)',
    previewButton: 'Show', previewSaved: 'The preview is for the saved scheme.',
    planAt: '{when} ({zone}), {day}', workingDay: 'a working day', dayOff: 'a day off',
    together: 'Ring together:', inTurn: 'Ring one after another:', notRinging: 'Do not ring:',
    nobody: 'Nobody rings: the caller hears busy / temporarily unavailable (SIP {status}).',
    nonexistent_local_time: '{asked} does not exist in {zone} (the clocks go forward): this is the plan for {time}, the same moment on the new clock.',
    calendar_year_missing: 'The production calendar for {year} has not been imported: holidays count as working days.',
    r_inactive: 'switched off in the scheme.', r_do_not_disturb: 'do not disturb is on.', r_not_main: 'only the main number rings, and this is not it.',
    r_after_forever: '{name} before it rings until answered, so this one is never reached.',
    r_day_off: 'its schedule covers working days only, and the production calendar makes this a day off.',
    r_shortened_day: 'a shortened pre-holiday day: working hours end an hour earlier.',
    r_outside_schedule: 'its schedule does not cover this moment.',
    r_not_registered: 'the SIP account is not registered from any phone.',
    r_busy: 'the device is busy.', r_unreachable: 'the device cannot be reached.',
    mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun',
  },
  ru: {
    heading: 'Схема приёма',
    mode: 'Когда звонят', main_only: 'Только основной номер (первое активное устройство)',
    all_at_once: 'Все устройства одновременно', in_turn: 'По очереди, сверху вниз',
    timezone: 'Часовой пояс расписаний',
    devices: 'Устройства (верхнее — первое)', noDevices: 'Устройств нет: звонки этому сотруднику никуда не придут.',
    sip: 'SIP-аккаунт {address}', external: 'Номер {address}',
    active: 'Активен', timeout: 'Время ожидания, секунд',
    timeoutHelp: '0 = ∞, звонит, пока не ответят — не дольше {limit} с, предел ВАТС',
    forever: '∞ пока не ответят (не дольше {limit} с — предел ВАТС)', seconds: '{n} с',
    up: 'Выше', down: 'Ниже', moveLabel: '{what}: {dir}', dragHint: 'Перетащите устройство или выберите его и нажмите Alt+↑ / Alt+↓, чтобы изменить порядок.',
    moved: '{what} теперь {n}-е из {total}.',
    schedule: 'Расписание', always: 'всегда', setSchedule: 'Указать', changeSchedule: 'Изменить',
    noSchedule: 'Звонить всегда (без расписания)', scheduleOf: 'Расписание: {what}', rules: 'Звонит, когда подходит любое из правил:',
    allDay: 'весь день', workingDays: 'Рабочие дни', daysOff: 'Выходные дни', noDays: 'нет дней', noRules: 'нет правил',
    ruleType: 'Правило {n}', working_days: 'Рабочие дни (производственный календарь)', days_off: 'Выходные дни (производственный календарь)',
    weekdays: 'Эти дни недели', period: 'Период дат', from: 'С', to: 'По', startDate: 'Первый день', endDate: 'Последний день',
    hoursFrom: 'С', hoursTo: 'До', wholeDay: 'Весь день.', addHours: 'Добавить часы', removeHours: 'Удалить часы {n}', addRule: 'Добавить правило', removeRule: 'Удалить правило {n}',
    addNumber: 'Добавить внешний номер (в международном формате)', addNumberButton: 'Добавить номер',
    removeDevice: 'Удалить {what}', saved: 'Сохранено: следующий входящий вызов пойдёт так.',
    readOnly: 'Менять схемы приёма могут только члены группы «Администраторы»; так ваша схема работает сейчас.',
    problems: 'ВАТС не приняла схему:',
    previewTitle: 'Кто звонит и почему', previewDate: 'Дата', previewTime: 'Время (в поясе схемы)',
    previewButton: 'Показать', previewSaved: 'Показано для сохранённой схемы.',
    planAt: '{when} ({zone}), {day}', workingDay: 'рабочий день', dayOff: 'выходной день',
    together: 'Звонят одновременно:', inTurn: 'Звонят по очереди:', notRinging: 'Не звонят:',
    nobody: 'Никто не звонит: звонящий услышит «занято / временно недоступен» (SIP {status}).',
    nonexistent_local_time: '{asked} не существует в поясе {zone} (часы переводят вперёд): показан план на {time} — тот же момент по новому времени.',
    calendar_year_missing: 'Производственный календарь на {year} год не загружен: праздники считаются рабочими днями.',
    r_inactive: 'выключено в схеме.', r_do_not_disturb: 'включён режим «Не беспокоить».', r_not_main: 'звонит только основной номер, а это не он.',
    r_after_forever: '{name} перед ним звонит, пока не ответят, — до этого очередь не дойдёт.',
    r_day_off: 'по расписанию оно звонит только в рабочие дни, а по производственному календарю это выходной.',
    r_shortened_day: 'сокращённый предпраздничный день: рабочие часы заканчиваются на час раньше.',
    r_outside_schedule: 'его расписание не охватывает этот момент.',
    r_not_registered: 'SIP-аккаунт не зарегистрирован ни на одном телефоне.',
    r_busy: 'устройство занято.', r_unreachable: 'устройство недоступно.',
    mon: 'Пн', tue: 'Вт', wed: 'Ср', thu: 'Чт', fri: 'Пт', sat: 'Сб', sun: 'Вс',
  },
};

const MODES = ['main_only', 'all_at_once', 'in_turn'];
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DEFAULT_LIMIT = 600;  // until GET /settings or a preview says the PBX's own
let uid = 0;
const nextId = (what) => `scheme-${what}-${++uid}`;

function label(t, device) {
  return t(device.kind === 'sip' ? 'sip' : 'external', { address: device.address });
}

function pad(n) { return String(n).padStart(2, '0'); }

export async function renderSchemeTab(container, ctx, employeeId) {
  const t = (key, vars) => ctx.t(S, key, vars);
  const editable = Boolean(ctx.me && ctx.me.administrator);
  const path = `/employees/${employeeId}/scheme`;
  let limit = DEFAULT_LIMIT;
  if (editable) {
    try { limit = (await ctx.api.get('/settings')).body.max_ring_timeout_s || DEFAULT_LIMIT; } catch { /* the default */ }
  }
  const read = await ctx.api.get(path);
  let etag = read.etag;
  const scheme = read.body;
  const devices = [...scheme.devices].sort((a, b) => a.position - b.position);

  const status = el('p', { class: 'error', role: 'alert', id: 'scheme-status' });
  const live = el('p', { class: 'visually-hidden', 'aria-live': 'polite', id: 'scheme-live' });
  const problems = el('ul', { class: 'error', id: 'scheme-problems' });
  const list = el('ol', { class: 'devices', id: 'scheme-devices', 'aria-describedby': 'scheme-drag-hint' });

  // --- mode and zone -------------------------------------------------------------------------
  const modeBox = el('fieldset', { class: 'modes' }, el('legend', {}, t('mode')),
    MODES.map((mode) => {
      const id = `scheme-mode-${mode}`;
      return el('label', { class: 'inline', for: id },
        el('input', { type: 'radio', name: 'mode', id, value: mode, checked: scheme.mode === mode, disabled: !editable,
          onchange: () => { scheme.mode = mode; } }), t(mode));
    }));
  const zoneInput = el('input', { id: 'scheme-timezone', name: 'timezone', value: scheme.timezone, disabled: !editable,
    autocomplete: 'off', spellcheck: 'false', oninput: () => { scheme.timezone = zoneInput.value.trim(); } });

  // --- devices -------------------------------------------------------------------------------
  function move(from, to, focusWhat) {
    if (to < 0 || to >= devices.length || from === to) return;
    const [device] = devices.splice(from, 1);
    devices.splice(to, 0, device);
    drawDevices();
    live.textContent = t('moved', { what: label(t, device), n: to + 1, total: devices.length });
    const row = list.children[to];
    if (row) (focusWhat ? row.querySelector(focusWhat) : row).focus();
  }

  let dragFrom = null;
  function deviceRow(device, index) {
    const name = label(t, device);
    const activeId = nextId('active');
    const timeoutId = nextId('timeout');
    const helpId = nextId('timeout-help');
    const shown = el('span', { class: 'timeout-shown', id: helpId });
    const showTimeout = () => {
      const n = Number(device.ring_timeout_s);
      shown.textContent = n === 0 ? t('forever', { limit }) : t('seconds', { n });
    };
    showTimeout();
    const row = el('li', { class: 'device', tabindex: editable ? '0' : false, draggable: editable ? 'true' : false,
      'data-device': device.id, 'aria-label': `${index + 1}. ${name}` },
    el('div', { class: 'device-head' },
      editable ? el('span', { class: 'grip', 'aria-hidden': 'true' }, '⠿') : null,
      el('strong', { class: 'device-name' }, `${index + 1}. ${name}`),
      el('label', { class: 'inline', for: activeId },
        el('input', { type: 'checkbox', id: activeId, name: `devices[${index}].active`, checked: device.active,
          disabled: !editable, onchange: (e) => { device.active = e.target.checked; } }), t('active')),
      editable ? el('span', { class: 'move' },
        el('button', { type: 'button', class: 'move-up', disabled: index === 0,
          'aria-label': t('moveLabel', { what: name, dir: t('up') }), onclick: () => move(index, index - 1, '.move-up') }, '↑'),
        el('button', { type: 'button', class: 'move-down', disabled: index === devices.length - 1,
          'aria-label': t('moveLabel', { what: name, dir: t('down') }), onclick: () => move(index, index + 1, '.move-down') }, '↓'))
        : null,
      editable && device.kind === 'external' ? el('button', { type: 'button', class: 'link danger',
        onclick: () => { devices.splice(index, 1); drawDevices(); } }, t('removeDevice', { what: name })) : null),
    el('div', { class: 'device-timeout' },
      el('label', { for: timeoutId }, t('timeout')),
      el('input', { type: 'number', id: timeoutId, name: `devices[${index}].ring_timeout_s`, min: '0', max: String(limit),
        step: '1', value: String(device.ring_timeout_s), disabled: !editable, class: 'narrow',
        'aria-describedby': `${helpId} ${timeoutId}-hint`,
        oninput: (e) => { device.ring_timeout_s = e.target.value === '' ? 0 : Number(e.target.value); showTimeout(); } }),
      ' ', shown,
      el('span', { class: 'muted hint', id: `${timeoutId}-hint` }, t('timeoutHelp', { limit }))),
    scheduleEditor(device));
    if (editable) {
      row.addEventListener('keydown', (e) => {
        if (e.target !== row || !e.altKey) return;
        if (e.key === 'ArrowUp') { e.preventDefault(); move(index, index - 1); }
        if (e.key === 'ArrowDown') { e.preventDefault(); move(index, index + 1); }
      });
      row.addEventListener('dragstart', (e) => {
        dragFrom = index;
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', device.id);
        row.classList.add('dragging');
      });
      row.addEventListener('dragend', () => row.classList.remove('dragging'));
      row.addEventListener('dragover', (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; });
      row.addEventListener('drop', (e) => {
        e.preventDefault();
        const from = dragFrom !== null ? dragFrom : devices.findIndex((d) => d.id === e.dataTransfer.getData('text/plain'));
        dragFrom = null;
        move(from, index);
      });
    }
    return row;
  }

  // The seed's control: the schedule in words, and «Указать» ("Set") while the device has none,
  // «Изменить» ("Change") once it has one; either opens the rules (the tray's settings window
  // does the same).
  function scheduleEditor(device) {
    const box = el('fieldset', { class: 'schedule' });
    let open = false;
    const summaryId = nextId('schedule-summary');
    const draw = () => {
      if (!device.schedule) open = false;  // its last rule removed: «Указать» again
      const summary = el('span', { class: 'schedule-summary', id: summaryId }, scheduleText(t, device.schedule));
      box.replaceChildren(el('legend', {}, t('schedule')), summary);
      if (editable) {
        box.append(' ', el('button', { type: 'button', class: 'schedule-button', disabled: open,
          'aria-label': `${t(device.schedule ? 'changeSchedule' : 'setSchedule')}: ${t('scheduleOf', { what: label(t, device) })}`,
          'aria-describedby': summaryId, onclick: () => {
            if (!device.schedule) {
              device.schedule = { rules: [{ type: 'calendar', days: 'working_days', windows: [{ start: '09:00', end: '18:00' }] }] };
            }
            open = true;
            draw();
            const first = box.querySelector('.rule select');
            if (first) first.focus();
          } }, t(device.schedule ? 'changeSchedule' : 'setSchedule')));
      }
      if (!device.schedule || !open) return;
      box.append(el('p', { class: 'muted' }, t('rules')));
      device.schedule.rules.forEach((rule, j) => box.append(ruleEditor(device, rule, j, draw)));
      box.append(el('div', { class: 'actions' },
        el('button', { type: 'button', onclick: () => {
          device.schedule.rules.push({ type: 'weekdays', days: ['mon', 'tue', 'wed', 'thu', 'fri'], windows: [] });
          draw();
        } }, t('addRule')),
        el('button', { type: 'button', class: 'link no-schedule', onclick: () => {
          device.schedule = null;
          open = false;
          draw();
        } }, t('noSchedule'))));
    };
    // The words follow every edit of a rule.
    const refresh = () => { const s = box.querySelector('.schedule-summary'); if (s) s.textContent = scheduleText(t, device.schedule); };
    box.addEventListener('input', refresh);
    box.addEventListener('change', refresh);
    box.addEventListener('click', () => setTimeout(refresh, 0));
    draw();
    return box;
  }

  function ruleEditor(device, rule, j, redraw) {
    const kindId = nextId('rule');
    const kindValue = rule.type === 'calendar' ? rule.days : rule.type;
    const select = el('select', { id: kindId, disabled: !editable, onchange: (e) => {
      const v = e.target.value;
      const windows = rule.windows || [];
      const fresh = v === 'weekdays' ? { type: 'weekdays', days: ['mon', 'tue', 'wed', 'thu', 'fri'], windows }
        : v === 'period' ? { type: 'period', start: today(), end: today(), windows }
          : { type: 'calendar', days: v, windows };
      device.schedule.rules[j] = fresh;
      redraw();
    } }, ['working_days', 'days_off', 'weekdays', 'period'].map((v) => el('option', { value: v, selected: v === kindValue }, t(v))));
    const part = el('div', { class: 'rule' }, el('label', { for: kindId }, t('ruleType', { n: j + 1 })), select);
    if (rule.type === 'weekdays') {
      part.append(el('div', { class: 'weekdays', role: 'group', 'aria-label': t('weekdays') }, WEEKDAYS.map((d) => {
        const id = nextId(`day-${d}`);
        return el('label', { class: 'inline', for: id }, el('input', { type: 'checkbox', id, checked: rule.days.includes(d),
          disabled: !editable, onchange: (e) => {
            rule.days = WEEKDAYS.filter((x) => (x === d ? e.target.checked : rule.days.includes(x)));
          } }), t(d));
      })));
    } else if (rule.type === 'period') {
      const a = nextId('start'); const b = nextId('end');
      part.append(el('div', { class: 'pair' },
        el('span', {}, el('label', { for: a }, t('startDate')), el('input', { type: 'date', id: a, value: rule.start, disabled: !editable,
          oninput: (e) => { rule.start = e.target.value; } })),
        el('span', {}, el('label', { for: b }, t('endDate')), el('input', { type: 'date', id: b, value: rule.end, disabled: !editable,
          oninput: (e) => { rule.end = e.target.value; } }))));
    }
    // Hours: none = the whole day; an end at or before the start runs past midnight.
    rule.windows = rule.windows || [];
    const hours = el('div', { class: 'hours' });
    part.append(hours);
    const drawHours = () => {
      hours.replaceChildren(...rule.windows.map((w, k) => {
        const fromId = nextId('from'); const toId = nextId('to');
        return el('div', { class: 'pair' },
          el('span', {}, el('label', { for: fromId }, t('hoursFrom')), el('input', { type: 'time', id: fromId, value: w.start,
            disabled: !editable, oninput: (e) => { w.start = e.target.value; } })),
          el('span', {}, el('label', { for: toId }, t('hoursTo')), el('input', { type: 'time', id: toId, value: w.end,
            disabled: !editable, oninput: (e) => { w.end = e.target.value; } })),
          editable ? el('button', { type: 'button', class: 'link', onclick: () => { rule.windows.splice(k, 1); drawHours(); } },
            t('removeHours', { n: k + 1 })) : null);
      }));
      if (!rule.windows.length) hours.append(el('p', { class: 'muted' }, t('wholeDay')));
      if (editable) {
        hours.append(el('button', { type: 'button', onclick: () => { rule.windows.push({ start: '09:00', end: '18:00' }); drawHours(); } },
          t('addHours')));
      }
    };
    drawHours();
    if (editable) {
      part.append(el('button', { type: 'button', class: 'link', onclick: () => {
        device.schedule.rules.splice(j, 1);
        if (!device.schedule.rules.length) device.schedule = null;
        redraw();
      } }, t('removeRule', { n: j + 1 })));
    }
    return part;
  }

  function drawDevices() {
    list.replaceChildren(...devices.map(deviceRow));
    if (!devices.length) list.append(el('li', { class: 'muted' }, t('noDevices')));
  }

  // --- saving --------------------------------------------------------------------------------
  function problemText(p) {
    const where = (p.field || '').replace(/^devices\[(\d+)\]/, (m, i) => (devices[i] ? label(t, devices[i]) : m));
    return `${where}: ${sentenceOf(p, ctx)}`;
  }

  async function save(event) {
    event.preventDefault();
    status.textContent = '';
    problems.replaceChildren();
    const body = { mode: scheme.mode, timezone: scheme.timezone,
      devices: devices.map((d, i) => ({ ...d, position: i + 1 })) };
    try {
      const r = await ctx.api.send('PUT', path, body, { etag });
      etag = r.etag;
      toast(t('saved'));
      status.textContent = '';
      await preview();
    } catch (err) {
      if (err.stale) {
        status.replaceChildren(errorText(err, ctx), ' ',
          el('button', { type: 'button', class: 'link', id: 'scheme-reload',
            onclick: () => renderSchemeTab(container, ctx, employeeId) }, ctx.t(S, 'reload')));
      } else if (err.status === 422 && err.fields && err.fields.length) {
        status.textContent = t('problems');
        problems.replaceChildren(...err.fields.map((p) => el('li', {}, problemText(p))));
      } else {
        status.textContent = errorText(err, ctx);
      }
      status.focus();
    }
  }

  // --- the preview ---------------------------------------------------------------------------
  const now = new Date();
  const dateInput = el('input', { type: 'date', id: 'preview-date', value: `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}` });
  const timeInput = el('input', { type: 'time', id: 'preview-time', value: `${pad(now.getHours())}:${pad(now.getMinutes())}` });
  const planBox = el('div', { id: 'preview-result', 'aria-live': 'polite' });

  async function preview(event) {
    if (event) event.preventDefault();
    const at = dateInput.value && timeInput.value ? `?at=${encodeURIComponent(`${dateInput.value}T${timeInput.value}`)}` : '';
    try {
      const { body: plan } = await ctx.api.get(`/employees/${employeeId}/ringplan${at}`);
      planBox.replaceChildren(...describePlan(plan, t));
    } catch (err) {
      planBox.replaceChildren(el('p', { class: 'error' }, errorText(err, ctx)));
    }
  }

  function describePlan(plan, tr) {
    const out = [];
    const name = (d) => label(tr, d);
    const byId = new Map(devices.map((d) => [d.id, d]));
    const how = (d) => (d.timeout_s === 0 ? tr('forever', { limit: d.limit_s || plan.max_ring_s })
      : tr('seconds', { n: d.timeout_s }));
    const when = plan.local_time.slice(0, 16).replace('T', ' ');
    out.push(el('p', { class: 'plan-head' }, el('strong', {}, tr('planAt', { when, zone: plan.timezone,
      day: tr(plan.working_day ? 'workingDay' : 'dayOff') }))));
    for (const notice of plan.notices || []) {
      if (notice.code === 'nonexistent_local_time') {
        out.push(el('p', { class: 'notice', 'data-notice': notice.code }, tr(notice.code,
          { asked: notice.asked.replace('T', ' '), zone: plan.timezone, time: plan.local_time.slice(11, 16) })));
      } else if (notice.code === 'calendar_year_missing') {
        out.push(el('p', { class: 'notice', 'data-notice': notice.code }, tr(notice.code, { year: notice.year })));
      }
    }
    if (!plan.steps.length) {
      out.push(el('p', { class: 'notice', 'data-notice': 'nobody_rings' }, tr('nobody', { status: plan.caller_hears || 480 })));
    } else {
      const parallel = plan.steps.length === 1 && plan.steps[0].parallel;
      out.push(el('p', {}, tr(parallel ? 'together' : 'inTurn')));
      out.push(el('ol', { class: 'plan-rings' }, plan.steps.flatMap((s) => s.devices).map((d) =>
        el('li', { 'data-device': d.id }, `${name(byId.get(d.id) || d)} — ${how(d)}`))));
    }
    if (plan.excluded.length) {
      out.push(el('p', {}, tr('notRinging')));
      out.push(el('ul', { class: 'plan-silent' }, plan.excluded.map((d) => {
        const after = d.after && (byId.get(d.after) || { kind: 'sip', address: d.after });
        const why = d.reason === 'after_forever' && after ? tr('r_after_forever', { name: name(after) })
          : (S.en[`r_${d.reason}`] ? tr(`r_${d.reason}`) : d.why);
        return el('li', { 'data-device': d.id, 'data-reason': d.reason }, `${name(byId.get(d.id) || d)}: ${why}`);
      })));
    }
    return out;
  }

  // --- adding an external number -------------------------------------------------------------
  const numberInput = el('input', { id: 'scheme-add-number', type: 'tel', autocomplete: 'off', placeholder: '+79161234567' });
  const addNumber = () => {
    const value = numberInput.value.replace(/[\s()-]/g, '');
    if (!value) return;
    let id = `ext-${value.replace(/^\+/, '')}`;
    while (devices.some((d) => d.id === id)) id += '-2';
    devices.push({ id, kind: 'external', address: value, active: true, position: devices.length + 1, ring_timeout_s: 30, schedule: null });
    numberInput.value = '';
    drawDevices();
  };

  drawDevices();
  const form = el('form', { class: 'card scheme', id: 'scheme-form', novalidate: true, onsubmit: save },
    el('h2', {}, t('heading')),
    editable ? null : el('p', { class: 'muted' }, t('readOnly')),
    modeBox,
    el('label', { for: 'scheme-timezone' }, t('timezone')), zoneInput,
    el('h3', { id: 'scheme-devices-title' }, t('devices')),
    editable ? el('p', { class: 'muted', id: 'scheme-drag-hint' }, t('dragHint')) : null,
    list, live,
    editable ? el('div', { class: 'actions' }, el('label', { for: 'scheme-add-number' }, t('addNumber')), numberInput,
      el('button', { type: 'button', onclick: addNumber }, t('addNumberButton'))) : null,
    problems, status,
    editable ? el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'scheme-save' }, ctx.t(S, 'save')))
      : null);
  list.setAttribute('aria-labelledby', 'scheme-devices-title');
  status.setAttribute('tabindex', '-1');
  const previewForm = el('form', { class: 'card', id: 'preview-form', onsubmit: preview },
    el('h2', {}, t('previewTitle')),
    el('div', { class: 'pair' },
      el('span', {}, el('label', { for: 'preview-date' }, t('previewDate')), dateInput),
      el('span', {}, el('label', { for: 'preview-time' }, t('previewTime')), timeInput),
      el('button', { type: 'submit', id: 'preview-show' }, t('previewButton'))),
    el('p', { class: 'muted' }, t('previewSaved')),
    planBox);
  container.replaceChildren(form, previewForm);
  await preview();
}

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// A schedule in words, as the tray's settings window says it: "Working days, 09:00–18:00; Sat, 10:00–14:00".
function scheduleText(t, schedule) {
  if (!schedule) return t('always');
  const parts = schedule.rules.map((rule) => {
    let what;
    if (rule.type === 'period') what = `${rule.start || '…'} – ${rule.end || '…'}`;
    else if (rule.type === 'weekdays') what = weekdaysText(t, rule.days || []) || t('noDays');
    else what = t(rule.days === 'days_off' ? 'daysOff' : 'workingDays');
    const hours = (rule.windows || []).map((w) => `${w.start}–${w.end}`).join(', ');
    return `${what}, ${hours || t('allDay')}`;
  });
  return parts.join('; ') || t('noRules');
}

// ['mon','tue','wed','thu','fri','sun'] -> "Mon–Fri, Sun": three days or more in a row as a range.
function weekdaysText(t, days) {
  const picked = WEEKDAYS.map((d, i) => (days.includes(d) ? i : -1)).filter((i) => i >= 0);
  const runs = [];
  for (const i of picked) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === i - 1) last.push(i);
    else runs.push([i]);
  }
  return runs.flatMap((run) => (run.length >= 3 ? [`${t(WEEKDAYS[run[0]])}–${t(WEEKDAYS[run[run.length - 1]])}`]
    : run.map((i) => t(WEEKDAYS[i])))).join(', ');
}
