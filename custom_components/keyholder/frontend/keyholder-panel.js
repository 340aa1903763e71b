// Keyholder's sidebar panel: a plain web component, no build step.
//
// Home Assistant gives the element `hass`, `narrow`, `route` and `panel`. The panel
// follows the sites through the `keyholder/subscribe` websocket command and changes
// them with Keyholder's own commands (administrators only). A passcode is shown
// once, right after it was issued or regenerated, and is kept nowhere else.

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_LABELS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const STATUS_LABELS = {
  upcoming: "Upcoming",
  active: "Active",
  outside_schedule: "Outside schedule",
  expired: "Expired",
  cancelled: "Cancelled",
  blocked: "Blocked",
  used_up: "Used up",
  no_key: "No key",
  no_access: "No access",
  in_sync: "In sync",
  pending: "Pending",
  failed: "Failed",
};

function esc(value) {
  return String(value ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}

// The day of the month of the drawn week's day `index` (0 = its Monday).
function dayOfMonth(monday, index) {
  const [y, m, d] = monday.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + index)).getUTCDate();
}

const STYLE = `
  :host {
    display: block;
    min-height: 100%;
    background: var(--primary-background-color);
    color: var(--primary-text-color);
    font-family: var(--ha-font-family-body, var(--paper-font-body1_-_font-family, Roboto, sans-serif));
  }
  .toolbar {
    display: flex;
    align-items: center;
    gap: 8px;
    height: var(--header-height, 56px);
    padding: 0 16px;
    background: var(--app-header-background-color, var(--primary-color));
    color: var(--app-header-text-color, var(--text-primary-color, #fff));
    font-size: 20px;
    box-sizing: border-box;
  }
  .toolbar .title { flex: 1; }
  .toolbar select { font-size: 14px; }
  .content { padding: 16px; max-width: 1100px; margin: 0 auto; }
  ha-card, .card {
    display: block;
    background: var(--card-background-color, var(--ha-card-background, #fff));
    border-radius: var(--ha-card-border-radius, 12px);
    border: 1px solid var(--divider-color, #e0e0e0);
    box-shadow: var(--ha-card-box-shadow, none);
    padding: 16px;
    margin-bottom: 16px;
    color: var(--primary-text-color);
  }
  h2 {
    font-size: 18px;
    font-weight: 500;
    margin: 24px 0 8px;
    color: var(--primary-text-color);
  }
  h3 { margin: 0; font-size: 16px; font-weight: 500; }
  .row { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
  .row .grow { flex: 1; }
  .muted { color: var(--secondary-text-color); font-size: 13px; }
  .chip {
    display: inline-block;
    border-radius: 12px;
    padding: 2px 10px;
    font-size: 12px;
    font-weight: 500;
    color: var(--text-primary-color, #fff);
    background: var(--disabled-text-color, #9e9e9e);
    white-space: nowrap;
  }
  .chip.active, .chip.in_sync { background: var(--success-color, #43a047); }
  .chip.upcoming { background: var(--info-color, #039be5); }
  .chip.outside_schedule, .chip.pending { background: var(--warning-color, #ffa600); }
  .chip.blocked, .chip.failed { background: var(--error-color, #db4437); }
  .chip.no_key { background: var(--secondary-text-color, #727272); }
  button {
    font: inherit;
    font-size: 14px;
    font-weight: 500;
    border-radius: 18px;
    padding: 6px 14px;
    cursor: pointer;
    border: 1px solid var(--primary-color);
    background: transparent;
    color: var(--primary-color);
  }
  button.primary { background: var(--primary-color); color: var(--text-primary-color, #fff); }
  button.danger { border-color: var(--error-color, #db4437); color: var(--error-color, #db4437); }
  button:disabled { opacity: 0.5; cursor: default; }
  .key {
    border-top: 1px solid var(--divider-color, #e0e0e0);
    margin-top: 12px;
    padding-top: 12px;
  }
  .key.ended { opacity: 0.6; }
  .week {
    display: grid;
    grid-template-columns: 28px repeat(7, 1fr);
    gap: 2px;
    max-width: 420px;
    margin-top: 8px;
  }
  .week .label { font-size: 11px; text-align: center; color: var(--secondary-text-color); }
  .week .hours {
    position: relative;
    height: 96px;
    font-size: 10px;
    color: var(--secondary-text-color);
  }
  .week .hours span { position: absolute; right: 2px; transform: translateY(-50%); }
  .week .day {
    position: relative;
    height: 96px;
    border-radius: 4px;
    background:
      repeating-linear-gradient(to bottom, transparent 0, transparent calc(25% - 1px),
        var(--divider-color, #e0e0e0) calc(25% - 1px), var(--divider-color, #e0e0e0) 25%),
      var(--secondary-background-color, #f5f5f5);
    overflow: hidden;
  }
  .week .fill {
    position: absolute;
    left: 1px;
    right: 1px;
    border-radius: 2px;
    background: var(--primary-color);
  }
  .notice {
    border-radius: 8px;
    padding: 12px 16px;
    margin-bottom: 16px;
  }
  .notice.error {
    background: rgba(219, 68, 55, 0.12);
    color: var(--error-color, #db4437);
  }
  .notice.passcode {
    background: var(--card-background-color, #fff);
    border: 2px solid var(--primary-color);
  }
  .passcode .code {
    font-family: var(--ha-font-family-code, monospace);
    font-size: 28px;
    letter-spacing: 4px;
    font-weight: 600;
  }
  form { display: grid; gap: 12px; }
  label { font-size: 14px; }
  fieldset {
    border: 1px solid var(--divider-color, #e0e0e0);
    border-radius: 8px;
    padding: 8px 12px;
    display: flex;
    flex-wrap: wrap;
    gap: 12px;
  }
  legend { font-size: 13px; color: var(--secondary-text-color); }
  input, select {
    font: inherit;
    font-size: 14px;
    padding: 6px 8px;
    border-radius: 6px;
    border: 1px solid var(--divider-color, #ccc);
    background: var(--card-background-color, #fff);
    color: var(--primary-text-color);
  }
  fieldset input[type="checkbox"] { margin-right: 4px; }
  .empty { color: var(--secondary-text-color); font-style: italic; }
  .access { margin-top: 8px; }
  .steps { font-size: 13px; color: var(--secondary-text-color); }
  .steps b { color: var(--primary-text-color); }
`;

class KeyholderPanel extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._sites = null;
    this._siteId = null;
    this._form = null; // null, {kind: "keyholder"} or {kind: "key", keyholder}
    this._notice = null; // {kind: "error", text} or {kind: "passcode", ...}
    this._confirming = null; // the key whose cancelling asks once more
    this._confirmingHolder = null; // the keyholder whose removal asks once more
    this._unsub = null;
    this._rendered = false;
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first) this._subscribe();
    const menu = this.shadowRoot.querySelector("ha-menu-button");
    if (menu) menu.hass = hass;
  }

  get hass() {
    return this._hass;
  }

  set narrow(narrow) {
    this._narrow = narrow;
    const menu = this.shadowRoot.querySelector("ha-menu-button");
    if (menu) menu.narrow = narrow;
  }

  connectedCallback() {
    if (!this._rendered) this._renderShell();
    if (this._hass && !this._unsub) this._subscribe();
  }

  disconnectedCallback() {
    if (this._unsub) {
      this._unsub.then((unsub) => unsub()).catch(() => {});
      this._unsub = null;
    }
  }

  _subscribe() {
    if (this._unsub || !this.isConnected) return;
    this._unsub = this._hass.connection.subscribeMessage(
      (message) => this._update(message),
      { type: "keyholder/subscribe" },
    );
    this._unsub.catch((err) => {
      this._unsub = null;
      this._showError(err);
    });
  }

  _update(message) {
    this._sites = message.sites;
    if (!this._sites.some((s) => s.entry_id === this._siteId)) {
      this._siteId = this._sites.length ? this._sites[0].entry_id : null;
    }
    this._renderData();
  }

  get _site() {
    return (this._sites || []).find((s) => s.entry_id === this._siteId) || null;
  }

  // -- rendering ---------------------------------------------------------------

  _renderShell() {
    this._rendered = true;
    this.shadowRoot.innerHTML = `
      <style>${STYLE}</style>
      <div class="toolbar">
        <ha-menu-button></ha-menu-button>
        <div class="title">Keyholder</div>
        <span id="site-picker"></span>
      </div>
      <div class="content">
        <div id="notice"></div>
        <div class="row">
          <button class="primary" data-action="open-keyholder">Add keyholder</button>
          <button class="primary" data-action="open-key">Issue key</button>
          <button class="primary" data-action="open-person">Add person</button>
          <button data-action="open-group">New group</button>
        </div>
        <div id="form"></div>
        <h2>Keyholders</h2>
        <div id="holders"><p class="empty">Loading…</p></div>
        <h2>Groups</h2>
        <div id="groups"></div>
        <h2>Locks</h2>
        <div id="locks"></div>
      </div>`;
    const menu = this.shadowRoot.querySelector("ha-menu-button");
    if (this._hass) menu.hass = this._hass;
    menu.narrow = this._narrow;
    this.shadowRoot.addEventListener("click", (ev) => this._onClick(ev));
    this.shadowRoot.addEventListener("submit", (ev) => this._onSubmit(ev));
    this.shadowRoot.addEventListener("change", (ev) => {
      if (ev.target.id === "site") {
        this._siteId = ev.target.value;
        this._form = null;
        this._renderForm();
        this._renderData();
      }
    });
  }

  _lockName(site, lockId) {
    const lock = site.locks.find((l) => l.id === lockId);
    return lock ? lock.name : lockId;
  }

  // Dates and times in the home's time zone.
  _format() {
    const options = { dateStyle: "medium", timeStyle: "short" };
    const tz = this._hass && this._hass.config && this._hass.config.time_zone;
    if (tz) options.timeZone = tz;
    return new Intl.DateTimeFormat(undefined, options);
  }

  _date(iso) {
    return iso ? this._format().format(new Date(iso)) : "";
  }

  _chip(status) {
    return `<span class="chip ${esc(status)}" data-status="${esc(status)}">${esc(
      STATUS_LABELS[status] || status,
    )}</span>`;
  }

  // The week Keyholder chose to draw (this week, or the one the key starts or
  // ended in), with what opens day by day: weekly windows and dates both apply.
  _week(week) {
    const cells = DAY_LABELS.map(
      (d, i) => `<div class="label">${d} ${dayOfMonth(week.monday, i)}</div>`,
    ).join("");
    const days = DAYS.map((_, day) => {
      const fills = week.blocks
        .filter((b) => b.day === day)
        .map(
          (b) =>
            `<div class="fill" style="top:${(b.from / 1440) * 100}%;height:${
              ((b.to - b.from) / 1440) * 100
            }%"></div>`,
        )
        .join("");
      return `<div class="day" data-day="${DAYS[day]}">${fills}</div>`;
    }).join("");
    const hours = [0, 6, 12, 18]
      .map((h) => `<span style="top:${(h / 24) * 100}%">${h}</span>`)
      .join("");
    return `<div class="week" data-monday="${esc(week.monday)}"
      aria-label="Week of ${esc(week.monday)}">
      <div></div>${cells}<div class="hours">${hours}</div>${days}</div>`;
  }

  // "Dec 3, 2026, 9:00 AM – 12:00 PM": the key's dates, in the home's time zone.
  _range(from, until) {
    if (!from) return `until ${esc(this._date(until))}`;
    if (!until) return `from ${esc(this._date(from))}`;
    return esc(this._format().formatRange(new Date(from), new Date(until)));
  }

  _schedule(key) {
    const parts = key.windows.map(
      (w) =>
        `${w.days.map((d) => DAY_LABELS[DAYS.indexOf(d)]).join(", ")} ${esc(
          w.start,
        )}–${esc(w.end)}`,
    );
    if (key.valid_from || key.valid_until) {
      parts.push(this._range(key.valid_from, key.valid_until));
    } else if (!parts.length) {
      // A key that follows its person's access works whenever that allows.
      parts.push(key.follows_access ? "Whenever their access allows" : "Any time");
    }
    if (key.max_uses) parts.push(`${key.uses}/${key.max_uses} uses`);
    return parts.join(" · ");
  }

  _key(site, key) {
    const ended = ["cancelled", "expired", "used_up"].includes(key.status);
    const locks = key.locks.map((id) => esc(this._lockName(site, id))).join(", ");
    const confirming = this._confirming === key.id;
    const actions = ended
      ? ""
      : `<button data-action="open-schedule" data-key="${esc(key.id)}">Edit schedule</button>
        ${
          key.kind === "passcode"
            ? `<button data-action="regenerate" data-key="${esc(key.id)}">New passcode</button>`
            : ""
        }
        <button class="danger" data-action="${confirming ? "cancel-confirmed" : "cancel"}"
          data-key="${esc(key.id)}">${confirming ? "Really cancel?" : "Cancel key"}</button>`;
    return `<div class="key ${ended ? "ended" : ""}" data-key-id="${esc(key.id)}">
      <div class="row">
        <span class="grow"><b>${esc(key.name || (key.kind === "tag" ? "Tag" : "Passcode"))}</b>
          <span class="muted">on ${locks || "no lock"}</span></span>
        ${this._chip(key.status)}
      </div>
      <div class="muted">${this._schedule(key)}${
        key.next_change && !ended ? ` · changes ${esc(this._date(key.next_change))}` : ""
      }</div>
      ${ended ? "" : this._week(key.week)}
      <div class="row" style="margin-top:8px">${actions}</div>
    </div>`;
  }

  _holder(site, holder) {
    const keys = holder.keys.length
      ? holder.keys.map((k) => this._key(site, k)).join("")
      : `<p class="empty">No keys.</p>`;
    const limits = [];
    if (holder.active_from) limits.push(`from ${esc(this._date(holder.active_from))}`);
    if (holder.expires_on) limits.push(`until ${esc(holder.expires_on)}`);
    return `<ha-card class="holder" data-keyholder="${esc(holder.name)}">
      <div class="row">
        <h3 class="grow">${esc(holder.name)}
          <span class="muted">${holder.role === "manager" ? "manager" : ""} ${limits.join(" ")}</span>
        </h3>
        ${this._chip(holder.status)}
        <button data-action="open-access" data-holder="${esc(holder.id)}">Edit access</button>
        <button data-action="open-key" data-holder="${esc(holder.id)}">Issue key</button>
        <button class="${holder.blocked ? "" : "danger"}"
          data-action="${holder.blocked ? "unblock" : "block"}"
          data-holder="${esc(holder.id)}">${holder.blocked ? "Unblock" : "Block"}</button>
        <button class="danger" data-action="remove-holder" data-holder="${esc(holder.id)}">${
          this._confirmingHolder === holder.id ? "Really remove?" : "Remove"
        }</button>
      </div>
      ${this._access(site, holder)}
      ${keys}
    </ha-card>`;
  }

  _lock(lock) {
    const details = [`${lock.codes_confirmed}/${lock.codes_wanted} codes confirmed`];
    if (lock.last_error) details.push(`last error: ${esc(lock.last_error)}`);
    if (lock.next_retry) details.push(`retry ${esc(this._date(lock.next_retry))}`);
    const slots = lock.unmanaged_slots;
    const unmanaged = slots.length
      ? `<div class="muted unmanaged">${
          slots.length > 1
            ? `Slots ${slots.map(esc).join(", ")} hold codes`
            : `Slot ${esc(slots[0])} holds a code`
        } Keyholder does not manage.</div>`
      : "";
    return `<ha-card class="lock" data-lock="${esc(lock.name)}">
      <div class="row"><h3 class="grow">${esc(lock.name)}</h3>${this._chip(lock.sync)}</div>
      <div class="muted">${details.join(" · ")}</div>
      ${unmanaged}
    </ha-card>`;
  }

  _renderData() {
    const root = this.shadowRoot;
    const sites = this._sites || [];
    root.getElementById("site-picker").innerHTML =
      sites.length > 1
        ? `<select id="site">${sites
            .map(
              (s) =>
                `<option value="${esc(s.entry_id)}" ${
                  s.entry_id === this._siteId ? "selected" : ""
                }>${esc(s.title)}</option>`,
            )
            .join("")}</select>`
        : "";
    const site = this._site;
    if (!site) {
      root.getElementById("holders").innerHTML =
        `<p class="empty">No Keyholder site is set up.</p>`;
      root.getElementById("locks").innerHTML = "";
      root.getElementById("groups").innerHTML = "";
      return;
    }
    root.getElementById("holders").innerHTML = site.keyholders.length
      ? site.keyholders.map((h) => this._holder(site, h)).join("")
      : `<p class="empty">No keyholders yet.</p>`;
    const groups = site.groups || [];
    root.getElementById("groups").innerHTML = groups.length
      ? groups.map((g) => this._group(site, g)).join("")
      : `<p class="empty">No groups yet.</p>`;
    root.getElementById("locks").innerHTML = site.locks.length
      ? site.locks.map((l) => this._lock(l)).join("")
      : `<p class="empty">No locks yet: add one under Settings → Devices & services.</p>`;
    this._renderNotice();
  }

  _renderNotice() {
    const box = this.shadowRoot.getElementById("notice");
    const notice = this._notice;
    if (!notice) {
      box.innerHTML = "";
    } else if (notice.kind === "error") {
      box.innerHTML = `<div class="notice error" role="alert">${esc(notice.text)}</div>`;
    } else if (!box.querySelector(".passcode")) {
      // Drawn once: later updates leave it alone until it is dismissed.
      box.innerHTML = `<div class="notice passcode" role="status">
        <div>${esc(notice.title)}. Write it down or send it now: it is shown only this once.</div>
        ${notice.who ? `<div class="who"><b>${esc(notice.who)}</b>${
          notice.doors && notice.doors.length ? ` · ${notice.doors.map(esc).join(", ")}` : ""
        }</div>` : ""}
        <div class="row">
          <span class="code" id="passcode">${esc(notice.passcode)}</span>
          <button data-action="copy">Copy</button>
          ${navigator.share ? `<button data-action="share">Share</button>` : ""}
          <button data-action="dismiss">Done</button>
        </div>
      </div>`;
    }
  }

  _renderForm() {
    const box = this.shadowRoot.getElementById("form");
    const site = this._site;
    if (!this._form || !site) {
      box.innerHTML = "";
      return;
    }
    if (this._form.kind === "group") {
      box.innerHTML = this._groupForm(site);
      return;
    }
    if (this._form.kind === "access") {
      box.innerHTML = this._accessForm(site);
      return;
    }
    if (this._form.kind === "person") {
      box.innerHTML = this._personForm(site);
      return;
    }
    if (this._form.kind === "schedule") {
      box.innerHTML = this._keyScheduleForm(site);
      return;
    }
    if (this._form.kind === "keyholder") {
      box.innerHTML = `<ha-card><form id="keyholder-form">
        <h3>Add keyholder</h3>
        <label>Given name <input name="given_name" required></label>
        <label>Family name <input name="family_name"></label>
        <label>Role <select name="role">
          <option value="keyholder">Keyholder</option>
          <option value="manager">Manager</option>
        </select></label>
        <div class="row">
          <button class="primary" type="submit">Add</button>
          <button type="button" data-action="close">Close</button>
        </div>
      </form></ha-card>`;
      return;
    }
    const holders = site.keyholders
      .map(
        (h) =>
          `<option value="${esc(h.id)}" ${h.id === this._form.keyholder ? "selected" : ""}>${esc(
            h.name,
          )}</option>`,
      )
      .join("");
    const days = DAYS.map(
      (d, i) =>
        `<label><input type="checkbox" name="weekday" value="${d}">${DAY_LABELS[i]}</label>`,
    ).join("");
    const locks = site.locks
      .map(
        (l) =>
          `<label><input type="checkbox" name="lock" value="${esc(l.id)}" ${
            site.locks.length === 1 ? "checked" : ""
          }>${esc(l.name)}</label>`,
      )
      .join("");
    box.innerHTML = `<ha-card><form id="key-form">
      <h3>Issue key</h3>
      <label>Keyholder <select name="keyholder" required>${holders}</select></label>
      <label>Name (optional) <input name="name" placeholder="e.g. Repairs"></label>
      <fieldset><legend>Weekdays (none: every day, or any time without times)</legend>${days}</fieldset>
      <div class="row">
        <label>From <input type="time" name="start_time"></label>
        <label>to <input type="time" name="end_time"></label>
        <span class="muted">An end before the start runs past midnight.</span>
      </div>
      <div class="row">
        <label>Valid from <input type="date" name="valid_from"></label>
        <label>until (inclusive) <input type="date" name="valid_until"></label>
      </div>
      <fieldset><legend>Locks</legend>${locks || '<span class="empty">No locks.</span>'}</fieldset>
      <div class="row">
        <button class="primary" type="submit">Issue</button>
        <button type="button" data-action="close">Close</button>
      </div>
    </form></ha-card>`;
  }

  // -- access: groups, a person's access, adding a person ---------------------

  // " (Mon, Fri 09:00–12:00)" for a limited schedule, nothing for any time.
  _limits(schedule) {
    const always = !schedule.windows.length && !schedule.valid_from && !schedule.valid_until;
    return always ? "" : ` (${this._schedule(schedule)})`;
  }

  _lockList(site, ids) {
    return ids.map((id) => esc(this._lockName(site, id))).join(", ") || "no door";
  }

  _access(site, holder) {
    const access = holder.access || { groups: [], personal: [] };
    const groups = access.groups.map((g) => `${esc(g.name)}${this._limits(g.schedule)}`);
    const own = access.personal.map(
      (p) => `${this._lockList(site, p.locks)}${this._limits(p.schedule)}`,
    );
    const parts = [];
    if (groups.length) parts.push(`Groups: ${groups.join(", ")}`);
    if (own.length) parts.push(`Own doors: ${own.join("; ")}`);
    return `<div class="muted access">${parts.join(" · ") || "No access yet."}</div>`;
  }

  _group(site, group) {
    const members = group.members.length
      ? group.members.map((m) => `${esc(m.name)}${this._limits(m.schedule)}`).join(", ")
      : "no members";
    return `<ha-card class="group" data-group="${esc(group.name)}">
      <div class="row">
        <h3 class="grow">${esc(group.name)}</h3>
        <button data-action="open-group" data-group="${esc(group.id)}">Edit</button>
        <button class="danger" data-action="delete-group" data-group="${esc(group.id)}">Delete</button>
      </div>
      <div class="muted">${this._lockList(site, group.locks)} · <span class="when">${this._schedule(
        group.schedule,
      )}</span></div>
      <div class="muted members">Members: ${members}</div>
    </ha-card>`;
  }

  // A day in the home's time zone, as a date input wants it (YYYY-MM-DD).
  _day(iso) {
    if (!iso) return "";
    const options = { year: "numeric", month: "2-digit", day: "2-digit" };
    const tz = this._hass && this._hass.config && this._hass.config.time_zone;
    if (tz) options.timeZone = tz;
    return new Intl.DateTimeFormat("en-CA", options).format(new Date(iso));
  }

  // Always / weekdays and times / dates: the fields of one schedule.
  _scheduleFields(schedule, prefix = "") {
    const s = schedule || { windows: [], valid_from: null, valid_until: null };
    const w = s.windows[0];
    const mode = w ? "weekly" : s.valid_from || s.valid_until ? "dates" : "always";
    const option = (value, label) =>
      `<option value="${value}" ${mode === value ? "selected" : ""}>${label}</option>`;
    const days = DAYS.map(
      (d, i) =>
        `<label><input type="checkbox" name="${prefix}weekday" value="${d}" ${
          w && w.days.includes(d) ? "checked" : ""
        }>${DAY_LABELS[i]}</label>`,
    ).join("");
    return `<label>When <select name="${prefix}mode">
        ${option("always", "Always")}${option("weekly", "Weekdays and times")}${option(
          "dates",
          "Dates",
        )}</select></label>
      <fieldset><legend>Weekdays (none: every day)</legend>${days}</fieldset>
      <div class="row">
        <label>From <input type="time" name="${prefix}start_time" value="${esc(w ? w.start : "")}"></label>
        <label>to <input type="time" name="${prefix}end_time" value="${esc(w ? w.end : "")}"></label>
      </div>
      <div class="row">
        <label>Valid from <input type="date" name="${prefix}valid_from" value="${esc(
          this._day(s.valid_from),
        )}"></label>
        <label>until (inclusive) <input type="date" name="${prefix}valid_until" value="${esc(
          this._day(s.valid_until),
        )}"></label>
      </div>`;
  }

  _readSchedule(data, prefix = "") {
    const mode = data.get(`${prefix}mode`) || "always";
    const schedule = {};
    if (mode === "always") return schedule;
    if (mode === "weekly") {
      const days = data.getAll(`${prefix}weekday`);
      if (days.length) schedule.weekdays = days;
      if (data.get(`${prefix}start_time`)) schedule.start_time = data.get(`${prefix}start_time`);
      if (data.get(`${prefix}end_time`)) schedule.end_time = data.get(`${prefix}end_time`);
    }
    const from = data.get(`${prefix}valid_from`);
    const until = data.get(`${prefix}valid_until`);
    if (from) schedule.valid_from = `${from}T00:00:00`;
    if (until) schedule.valid_until = `${until}T23:59:59`;
    return schedule;
  }

  // A schedule as described, sent back unchanged (one weekly window at most).
  _scheduleMessage(shown) {
    const schedule = {};
    const w = shown.windows[0];
    if (w) Object.assign(schedule, { weekdays: w.days, start_time: w.start, end_time: w.end });
    if (shown.valid_from) schedule.valid_from = shown.valid_from;
    if (shown.valid_until) schedule.valid_until = shown.valid_until;
    return schedule;
  }

  _lockBoxes(site, checked, name) {
    return (
      site.locks
        .map(
          (l) =>
            `<label><input type="checkbox" name="${name}" value="${esc(l.id)}" ${
              checked.includes(l.id) ? "checked" : ""
            }>${esc(l.name)}</label>`,
        )
        .join("") || '<span class="empty">No locks.</span>'
    );
  }

  _groupBoxes(site, checked) {
    return (
      (site.groups || [])
        .map(
          (g) =>
            `<label><input type="checkbox" name="group" value="${esc(g.id)}" ${
              checked.includes(g.id) ? "checked" : ""
            }>${esc(g.name)}</label>`,
        )
        .join("") || '<span class="empty">No groups yet.</span>'
    );
  }

  _groupForm(site) {
    const group = (site.groups || []).find((g) => g.id === this._form.group);
    return `<ha-card><form id="group-form">
      <h3>${group ? "Edit group" : "New group"}</h3>
      <label>Group name <input name="group_name" required value="${esc(group ? group.name : "")}"></label>
      <fieldset><legend>Doors</legend>${this._lockBoxes(site, group ? group.locks : [], "lock")}</fieldset>
      ${this._scheduleFields(group && group.schedule)}
      <div class="row">
        <button class="primary" type="submit">Save</button>
        <button type="button" data-action="close">Close</button>
      </div>
    </form></ha-card>`;
  }

  // Groups and own doors: what a form gives a person.
  _accessFields(site, access) {
    const own = access.personal.find((p) => p.editable);
    return `<fieldset><legend>Groups</legend>${this._groupBoxes(
      site,
      access.groups.map((g) => g.id),
    )}</fieldset>
      <fieldset><legend>Own doors</legend>${this._lockBoxes(
        site,
        own ? own.locks : [],
        "p_lock",
      )}</fieldset>
      ${this._scheduleFields(own && own.schedule, "p_")}`;
  }

  _readAccess(data, access) {
    const kept = Object.fromEntries(access.groups.map((g) => [g.id, g.schedule]));
    const groups = data.getAll("group").map((id) => ({
      group_id: id,
      ...(kept[id] ? { schedule: this._scheduleMessage(kept[id]) } : {}),
    }));
    const locks = data.getAll("p_lock");
    const personal = locks.length ? { locks, schedule: this._readSchedule(data, "p_") } : null;
    return { groups, personal };
  }

  _accessForm(site) {
    const holder = site.keyholders.find((h) => h.id === this._form.keyholder);
    if (!holder) return "";
    return `<ha-card><form id="access-form">
      <h3>Access of ${esc(holder.name)}</h3>
      ${this._accessFields(site, holder.access || { groups: [], personal: [] })}
      <div class="row">
        <button class="primary" type="submit">Save access</button>
        <button type="button" data-action="close">Close</button>
      </div>
    </form></ha-card>`;
  }

  _personForm(site) {
    const { step, person } = this._form;
    const names = { details: "1 Details", access: "2 Access", key: "3 Key" };
    const steps = Object.entries(names)
      .map(([s, label]) => (s === step ? `<b>${label}</b>` : label))
      .join(" › ");
    let body;
    if (step === "details") {
      body = `<label>Given name <input name="given_name" required value="${esc(person.given_name)}"></label>
        <label>Family name <input name="family_name" value="${esc(person.family_name)}"></label>
        <label>Role <select name="role">
          <option value="keyholder">Keyholder</option>
          <option value="manager" ${person.role === "manager" ? "selected" : ""}>Manager</option>
        </select></label>`;
    } else if (step === "access") {
      body = this._accessFields(site, person.access || { groups: [], personal: [] });
    } else {
      body = `<fieldset><legend>Passcode</legend>
          <label><input type="radio" name="code" value="generate" checked>Generate one</label>
          <label><input type="radio" name="code" value="own">Use my own</label>
          <input name="passcode" inputmode="numeric" autocomplete="off" aria-label="Own passcode">
        </fieldset>
        <label>Key name (optional) <input name="key_name" placeholder="e.g. Main code"></label>`;
    }
    return `<ha-card><form id="person-form" data-step="${step}">
      <h3>Add person</h3>
      <div class="steps">${steps}</div>
      ${body}
      <div class="row">
        ${step === "details" ? "" : `<button type="button" data-action="back">Back</button>`}
        <button class="primary" type="submit">${step === "key" ? "Add and make key" : "Next"}</button>
        <button type="button" data-action="close">Close</button>
      </div>
    </form></ha-card>`;
  }

  // A key's schedule: always, weekdays and times, or dates (same locks, same code).
  _keyScheduleForm(site) {
    const holder = site.keyholders.find((h) => h.keys.some((k) => k.id === this._form.key));
    const key = holder && holder.keys.find((k) => k.id === this._form.key);
    if (!key) return "";
    const name = key.name || (key.kind === "tag" ? "Tag" : "Passcode");
    return `<ha-card><form id="schedule-form" data-key="${esc(key.id)}">
      <h3>Schedule of ${esc(name)} <span class="muted">(${esc(holder.name)})</span></h3>
      ${this._scheduleFields(key)}
      <div class="row">
        <button class="primary" type="submit">Save</button>
        <button type="button" data-action="close">Cancel</button>
      </div>
    </form></ha-card>`;
  }

  async _submitKeySchedule(data) {
    const result = await this._send({
      type: "keyholder/reschedule_key",
      key_id: this._form.key,
      ...this._readSchedule(data),
    });
    if (result !== undefined) {
      this._form = null;
      this._renderForm();
    }
  }

  async _removeHolder(button, holder) {
    if (this._confirmingHolder !== holder) {
      this._confirmingHolder = holder; // drawn as "Really remove?", asked only here
      this._renderData();
      return;
    }
    this._confirmingHolder = null;
    button.disabled = true;
    const removed = await this._send({ type: "keyholder/remove_keyholder", keyholder: holder });
    if (removed === undefined) {
      // Refused (the last manager): the card stays, asking no more.
      button.disabled = false;
      button.textContent = "Remove";
      return;
    }
    const form = this._form;
    const site = this._site;
    const theirs =
      form &&
      (form.keyholder === holder ||
        (form.kind === "schedule" &&
          site &&
          site.keyholders.some((h) => h.id === holder && h.keys.some((k) => k.id === form.key))));
    if (theirs) {
      this._form = null;
      this._renderForm();
    }
  }

  async _submitGroup(data) {
    const message = {
      type: "keyholder/save_group",
      name: data.get("group_name"),
      locks: data.getAll("lock"),
      schedule: this._readSchedule(data),
    };
    if (this._form.group) message.group_id = this._form.group;
    if (!message.locks.length) {
      this._showError({ message: "Choose at least one door." });
      return;
    }
    if (await this._send(message)) {
      this._form = null;
      this._renderForm();
    }
  }

  async _submitAccess(data) {
    const site = this._site;
    const holder = site.keyholders.find((h) => h.id === this._form.keyholder);
    const access = this._readAccess(data, holder.access || { groups: [], personal: [] });
    const result = await this._send({
      type: "keyholder/set_access",
      keyholder: holder.id,
      ...access,
    });
    if (result !== undefined) {
      this._form = null;
      this._renderForm();
    }
  }

  async _submitPerson(form, data) {
    const f = this._form;
    const person = f.person;
    if (f.step === "details") {
      person.given_name = data.get("given_name");
      person.family_name = data.get("family_name");
      person.role = data.get("role");
      f.step = "access";
      this._renderForm();
      return;
    }
    if (f.step === "access") {
      const access = this._readAccess(data, { groups: [], personal: [] });
      if (!access.groups.length && !access.personal) {
        this._showError({ message: "Choose a group or at least one door." });
        return;
      }
      person.message = access;
      f.step = "key";
      this._renderForm();
      return;
    }
    const message = {
      type: "keyholder/add_person",
      given_name: person.given_name,
      role: person.role,
      ...person.message,
    };
    if (person.family_name) message.family_name = person.family_name;
    if (data.get("key_name")) message.key_name = data.get("key_name");
    if (data.get("code") === "own") message.passcode = data.get("passcode");
    const result = await this._send(message);
    if (result) {
      this._form = null;
      this._renderForm();
      this._showPasscode(
        `Passcode of ${result.keyholder}`,
        result.passcode,
        result.keyholder,
        result.locks,
      );
    }
  }

  async _share() {
    const notice = this._notice;
    if (!notice || !navigator.share) return;
    const doors = notice.doors && notice.doors.length ? ` (${notice.doors.join(", ")})` : "";
    try {
      await navigator.share({
        title: "Door code",
        text: `${notice.who || "Your"} code${doors}: ${notice.passcode}`,
      });
    } catch (_err) {
      // Closed without sharing.
    }
  }

  // -- actions -----------------------------------------------------------------

  _showError(err) {
    const text = (err && (err.message || err.code)) || String(err);
    this._notice = { kind: "error", text };
    this._renderNotice();
  }

  async _send(message) {
    const site = this._site;
    try {
      const result = await this._hass.callWS({
        ...message,
        config_entry_id: site ? site.entry_id : undefined,
      });
      if (this._notice && this._notice.kind === "error") {
        this._notice = null;
        this._renderNotice();
      }
      return result;
    } catch (err) {
      this._showError(err);
      return undefined;
    }
  }

  _showPasscode(title, passcode, who = null, doors = null) {
    this._notice = null;
    this._renderNotice();
    this._notice = { kind: "passcode", title, passcode, who, doors };
    this._renderNotice();
  }

  async _onClick(ev) {
    const button = ev.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    const keyId = button.dataset.key;
    const holder = button.dataset.holder;
    const asking =
      (action !== "cancel" && action !== "cancel-confirmed" && this._confirming) ||
      (action !== "remove-holder" && this._confirmingHolder);
    if (asking) {
      // Another click: no longer asking to cancel a key or remove a person.
      if (action !== "cancel" && action !== "cancel-confirmed") this._confirming = null;
      if (action !== "remove-holder") this._confirmingHolder = null;
      this._renderData();
    }
    switch (action) {
      case "open-keyholder":
        this._form = { kind: "keyholder" };
        this._renderForm();
        this.shadowRoot.querySelector("#keyholder-form input").focus();
        break;
      case "open-key":
        this._form = { kind: "key", keyholder: holder };
        this._renderForm();
        break;
      case "close":
        this._form = null;
        this._renderForm();
        break;
      case "open-group":
        this._form = { kind: "group", group: button.dataset.group || null };
        this._renderForm();
        break;
      case "delete-group":
        if (this._confirmingGroup !== button.dataset.group) {
          this._confirmingGroup = button.dataset.group;
          button.textContent = "Really delete?";
          break;
        }
        this._confirmingGroup = null;
        await this._send({ type: "keyholder/delete_group", group_id: button.dataset.group });
        break;
      case "open-access":
        this._form = { kind: "access", keyholder: holder };
        this._renderForm();
        break;
      case "open-person":
        this._form = { kind: "person", step: "details", person: {} };
        this._renderForm();
        break;
      case "back":
        this._form.step = this._form.step === "key" ? "access" : "details";
        this._renderForm();
        break;
      case "share":
        await this._share();
        break;
      case "block":
        await this._send({ type: "keyholder/block", keyholder: holder });
        break;
      case "unblock":
        await this._send({ type: "keyholder/unblock", keyholder: holder });
        break;
      case "remove-holder":
        await this._removeHolder(button, holder);
        break;
      case "open-schedule":
        this._form = { kind: "schedule", key: keyId };
        this._renderForm();
        break;
      case "cancel":
        this._confirming = keyId;
        this._renderData();
        break;
      case "cancel-confirmed":
        this._confirming = null;
        button.disabled = true;
        await this._send({ type: "keyholder/cancel_key", key_id: keyId });
        break;
      case "regenerate": {
        button.disabled = true;
        const result = await this._send({ type: "keyholder/generate_passcode", key_id: keyId });
        button.disabled = false;
        if (result) this._showPasscode("New passcode", result.passcode);
        break;
      }
      case "copy":
        await this._copy(this._notice && this._notice.passcode, button);
        break;
      case "dismiss":
        this._notice = null;
        this._renderNotice();
        break;
      default:
        break;
    }
  }

  async _copy(text, button) {
    if (!text) return;
    try {
      await navigator.clipboard.writeText(text);
    } catch (_err) {
      // No clipboard API (e.g. plain http): select the code for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(this.shadowRoot.getElementById("passcode"));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    button.textContent = "Copied";
  }

  async _onSubmit(ev) {
    ev.preventDefault();
    const form = ev.target;
    const data = new FormData(form);
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      if (form.id === "group-form") {
        await this._submitGroup(data);
      } else if (form.id === "schedule-form") {
        await this._submitKeySchedule(data);
      } else if (form.id === "access-form") {
        await this._submitAccess(data);
      } else if (form.id === "person-form") {
        await this._submitPerson(form, data);
      } else if (form.id === "keyholder-form") {
        const message = { type: "keyholder/add_keyholder", given_name: data.get("given_name") };
        if (data.get("family_name")) message.family_name = data.get("family_name");
        message.role = data.get("role");
        const result = await this._send(message);
        if (result) {
          this._form = { kind: "key", keyholder: result.keyholder_id };
          // The new keyholder may not have reached the panel yet.
          if (!this._site.keyholders.some((h) => h.id === result.keyholder_id)) {
            this._site.keyholders.push({ id: result.keyholder_id, name: message.given_name, keys: [] });
          }
          this._renderForm();
        }
      } else if (form.id === "key-form") {
        const message = {
          type: "keyholder/issue_key",
          keyholder: data.get("keyholder"),
          locks: data.getAll("lock"),
        };
        const weekdays = data.getAll("weekday");
        if (weekdays.length) message.weekdays = weekdays;
        if (data.get("start_time")) message.start_time = data.get("start_time");
        if (data.get("end_time")) message.end_time = data.get("end_time");
        if (data.get("valid_from")) message.valid_from = `${data.get("valid_from")}T00:00:00`;
        if (data.get("valid_until")) message.valid_until = `${data.get("valid_until")}T23:59:59`;
        if (data.get("name")) message.name = data.get("name");
        if (!message.locks.length) {
          this._showError({ message: "Choose at least one lock." });
          return;
        }
        const result = await this._send(message);
        if (result) {
          this._form = null;
          this._renderForm();
          if (result.passcode) this._showPasscode("Passcode of the new key", result.passcode);
        }
      }
    } finally {
      if (submit.isConnected) submit.disabled = false;
    }
  }
}

if (!customElements.get("keyholder-panel")) {
  customElements.define("keyholder-panel", KeyholderPanel);
}
