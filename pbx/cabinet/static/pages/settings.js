// PBX settings: region, time zone, trunk, the shop address; the SIP proxy and the ring-timeout
// limit are shown, not edited (the PBX sets the first itself, the second is fixed).

import { registerPage, el, clearFormError, showFormError, toast } from '../app.js';

const S = {
  en: {
    title: 'PBX settings',
    region: 'Region (two letters, for numbers typed without a country code)',
    timezone: 'Time zone of receive-scheme schedules',
    trunk: 'Trunk gateway (host:port) for external numbers',
    shop: 'Shop address where "Add number…" leads',
    proxy: 'SIP proxy the apps register to',
    maxRing: 'Longest ring timeout of a device',
    shortened: 'On shortened (pre-holiday) days the working-day hours of schedules end an hour earlier',
    seconds: '{n} s (0 rings until answered, within the PBX limit)',
    notSet: 'not set',
  },
  ru: {
    title: 'Настройки ВАТС',
    region: 'Регион (две буквы, для номеров без кода страны)',
    timezone: 'Часовой пояс расписаний схем приёма',
    trunk: 'Шлюз транка (хост:порт) для внешних номеров',
    shop: 'Адрес магазина, куда ведёт «Добавить номер…»',
    proxy: 'SIP-прокси, к которому подключаются приложения',
    maxRing: 'Наибольшее время звонка устройства',
    shortened: 'В сокращённые (предпраздничные) дни рабочие часы в расписаниях заканчиваются на час раньше',
    seconds: '{n} с (0 — звонить до ответа, в пределах лимита ВАТС)',
    notSet: 'не задан',
  },
};

const FIELDS = ['region', 'timezone', 'trunk', 'buy_numbers_url'];

registerPage('settings', {
  title: { en: 'PBX settings', ru: 'Настройки ВАТС' },
  adminOnly: true,
  async render(container, ctx) {
    const t = (key, vars) => ctx.t(S, key, vars);
    const r = await ctx.api.get('/settings');
    const state = { values: r.body, etag: r.etag };
    const labels = { region: t('region'), timezone: t('timezone'), trunk: t('trunk'), buy_numbers_url: t('shop') };
    const status = el('p', { class: 'error', role: 'alert', id: 'settings-status' });
    const form = el('form', { class: 'card', id: 'settings-form' },
      FIELDS.map((name) => [el('label', { for: `settings-${name}` }, labels[name]),
        el('input', { id: `settings-${name}`, name, value: state.values[name] || '', autocomplete: 'off',
          type: name === 'buy_numbers_url' ? 'url' : 'text', maxlength: name === 'region' ? '2' : undefined })]),
      // Read by the ring plan (pbx/ringplan.py): the "working days" hours of schedules.
      el('label', { class: 'inline', for: 'settings-shortened' },
        el('input', { type: 'checkbox', id: 'settings-shortened', name: 'shortened_days_end_earlier',
          checked: Boolean(state.values.shortened_days_end_earlier) }), t('shortened')),
      status,
      el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, ctx.t(S, 'save'))));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const changes = {};
      for (const name of FIELDS) {
        const value = form.elements[name].value.trim();
        if (value !== (state.values[name] || '')) changes[name] = value;
      }
      const shortened = form.elements.shortened_days_end_earlier.checked;
      if (shortened !== Boolean(state.values.shortened_days_end_earlier)) changes.shortened_days_end_earlier = shortened;
      try {
        const saved = await ctx.api.send('PATCH', '/settings', changes, { etag: state.etag });
        state.values = saved.body;
        state.etag = saved.etag;
        clearFormError(form, status);
        toast(ctx.t(S, 'saved'));
      } catch (err) {
        showFormError(form, status, err, ctx);
        if (err.stale) status.append(' ', el('button', { type: 'button', class: 'link', onclick: () => ctx.reload() },
          ctx.t(S, 'reload')));
      }
    });
    container.append(el('h1', {}, t('title')), form, el('dl', { class: 'card' },
      el('dt', {}, t('proxy')), el('dd', { id: 'settings-proxy' }, state.values.sip_proxy || t('notSet')),
      el('dt', {}, t('maxRing')), el('dd', {}, t('seconds', { n: state.values.max_ring_timeout_s }))));
  },
});
