// The contact page's editors. Without this script the form still works: tags are one
// comma-separated field and the details table has two blank rows.
(function () {
  'use strict';

  // Tags as chips: Enter or a comma adds the typed tag, × or Backspace in an empty box
  // removes one; the original field keeps "a, b" so the server reads what it always reads.
  function tagEditor(field) {
    const clean = (text) => text.split(/\s+/).filter(Boolean).join(' ').toLowerCase();
    let tags = field.value.split(',').map(clean).filter(Boolean);
    const box = document.createElement('div');
    box.className = 'tag-editor';
    box.dataset.testid = 'tag-editor';
    const input = document.createElement('input');
    input.setAttribute('aria-label', 'Add a tag');
    input.placeholder = 'Add a tag';
    if (field.getAttribute('list')) input.setAttribute('list', field.getAttribute('list'));
    field.type = 'hidden';
    field.after(box);

    function render() {
      box.replaceChildren();
      tags.forEach((tag, at) => {
        const chip = document.createElement('span');
        chip.className = 'tag';
        chip.textContent = tag;
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = '×';
        remove.setAttribute('aria-label', 'Remove ' + tag);
        remove.addEventListener('click', () => { tags.splice(at, 1); render(); input.focus(); });
        chip.append(remove);
        box.append(chip);
      });
      box.append(input);
      field.value = tags.join(', ');
    }
    function addTyped() {
      input.value.split(',').map(clean).filter(Boolean).forEach((tag) => { if (!tags.includes(tag)) tags.push(tag); });
      input.value = '';
      render();
    }
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ',') {
        event.preventDefault();
        addTyped();
        input.focus();
      } else if (event.key === 'Backspace' && !input.value && tags.length) {
        tags.pop();
        render();
        input.focus();
      }
    });
    // A suggestion picked from the list arrives as one change, without a key press.
    input.addEventListener('change', () => { if (input.value) { addTyped(); input.focus(); } });
    field.form.addEventListener('submit', addTyped);
    render();
  }

  function keyValueEditor(editor) {
    const add = editor.querySelector('[data-kv-add]');
    const rows = editor.querySelector('[data-kv-rows]');
    add.hidden = false;
    editor.querySelectorAll('[data-kv-remove]').forEach((button) => { button.hidden = false; });
    // A removed row is emptied, not deleted: the form always posts as many keys as values.
    rows.addEventListener('click', (event) => {
      const remove = event.target.closest('[data-kv-remove]');
      if (!remove) return;
      remove.closest('[data-kv-row]').querySelectorAll('input:not([type=hidden])').forEach((input) => { input.value = ''; });
    });
    add.addEventListener('click', () => {
      const row = rows.querySelector('[data-kv-row]:last-child').cloneNode(true);
      row.querySelectorAll('input').forEach((input) => {
        input.value = input.type === 'hidden' ? 'text' : '';
        input.classList.remove('mono');
        input.removeAttribute('title');
      });
      rows.append(row);
      row.querySelector('input').focus();
    });
  }

  document.querySelectorAll('input[data-tag-editor]').forEach(tagEditor);
  document.querySelectorAll('.kv-editor').forEach(keyValueEditor);
})();
