import { h } from './dom.js';

/** Puts `text` on the clipboard: the Clipboard API where the page may use it, else a selected textarea and execCommand. */
async function writeClipboard(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Not a secure context, or permission refused: the old way below.
  }
  const area = h('textarea', { readonly: true, class: 'visually-hidden', 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('the browser refused to copy');
}

/** A shell command to copy: the command as code, and a button that copies it and says so. */
export function commandBlock(command: string): HTMLElement {
  const status = h('span', { class: 'copy-status', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary copy-button', 'data-testid': 'copy-command', 'aria-label': `Copy the command ${command}` }, 'Copy');
  button.addEventListener('click', () => {
    writeClipboard(command)
      .then(() => {
        status.textContent = 'Copied';
        button.textContent = 'Copied';
        setTimeout(() => {
          button.textContent = 'Copy';
          status.textContent = '';
        }, 2000);
      })
      .catch(() => (status.textContent = 'Could not copy: select the command and copy it by hand.'));
  });
  return h('div', { class: 'command' }, h('pre', {}, h('code', {}, command)), h('div', { class: 'command-actions' }, button, status));
}
