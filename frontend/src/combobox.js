// The search box as an ARIA 1.2 combobox with a list box: debounced suggestions, arrow keys, Enter, Escape.

const DEBOUNCE_MS = 250;
const MIN_CHARS = 3;

export function setupCombobox({ input, listbox, status, url, lang, texts, onChoose }) {
  let items = [];
  let active = -1;
  let timer = null;
  let sequence = 0;

  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', listbox.id);
  // the browser's own autofill list would cover ours
  input.setAttribute('autocomplete', 'off');

  function announce(message) {
    status.textContent = message;
  }

  function close() {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function open() {
    if (!items.length) return;
    listbox.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  function setActive(index) {
    const options = listbox.querySelectorAll('[role="option"]');
    options.forEach((option, i) => {
      option.setAttribute('aria-selected', i === index ? 'true' : 'false');
      option.classList.toggle('active', i === index);
    });
    active = index;
    if (index >= 0) {
      input.setAttribute('aria-activedescendant', options[index].id);
      options[index].scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  // notice: the API's note that an empty address search was limited to an area (source.wfs.search_extent)
  function render(parcels, notice) {
    items = parcels;
    listbox.replaceChildren();
    parcels.forEach((feature, i) => {
      const props = feature.properties;
      const option = document.createElement('li');
      option.id = `suggestion-${i}`;
      option.setAttribute('role', 'option');
      option.setAttribute('aria-selected', 'false');
      const title = document.createElement('span');
      title.className = 'suggestion-title';
      title.textContent = props.treffer || props.label;
      option.append(title);
      const detail = document.createElement('span');
      detail.className = 'suggestion-detail';
      detail.textContent = props.treffer ? props.label : (props.lage || []).join(', ');
      if (detail.textContent) option.append(' ', detail);
      // keep the focus in the input while the pointer picks an option
      option.addEventListener('mousedown', (event) => event.preventDefault());
      option.addEventListener('click', () => choose(i));
      listbox.append(option);
    });
    if (parcels.length) {
      open();
      announce(parcels.length === 1 ? texts.suggestions_one : texts.suggestions_count.replace('{n}', parcels.length));
    } else {
      close();
      announce(notice ? `${texts.suggestions_none} ${notice.text}` : texts.suggestions_none);
    }
  }

  async function suggest() {
    const q = input.value.trim();
    const mine = ++sequence;
    if (q.length < MIN_CHARS) {
      items = [];
      close();
      return;
    }
    try {
      const response = await fetch(`${url}?${new URLSearchParams({ q, limit: '8' })}`, {
        headers: { 'Accept-Language': lang, Accept: 'application/json' },
      });
      if (mine !== sequence) return;
      // an unfinished parcel number is not an error worth announcing while typing
      const body = response.ok ? await response.json() : { parcels: [] };
      render(body.parcels, body.notice);
    } catch {
      if (mine === sequence) close();
    }
  }

  function choose(index) {
    const feature = items[index];
    if (!feature) return;
    input.value = feature.properties.treffer || feature.properties.label;
    close();
    onChoose(feature);
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, DEBOUNCE_MS);
  });

  input.addEventListener('keydown', (event) => {
    const isOpen = !listbox.hidden;
    switch (event.key) {
      case 'ArrowDown':
        if (!items.length) return;
        event.preventDefault();
        open();
        setActive(active + 1 >= items.length ? 0 : active + 1);
        break;
      case 'ArrowUp':
        if (!items.length) return;
        event.preventDefault();
        open();
        setActive(active <= 0 ? items.length - 1 : active - 1);
        break;
      case 'Enter':
        // without a chosen suggestion the form is sent: the server's result list
        if (isOpen && active >= 0) {
          event.preventDefault();
          choose(active);
        }
        break;
      case 'Escape':
        if (isOpen) {
          event.preventDefault();
          close();
        }
        break;
      case 'Tab':
        close();
        break;
      default:
    }
  });

  input.addEventListener('blur', () => setTimeout(close, 150));

  // typed before this script was ready: answer it now
  if (document.activeElement === input && input.value.trim().length >= MIN_CHARS) suggest();
}
