// The upload flow of the Kite web upload example: ask the app for a
// presigned PUT, send the file straight to storage, have the app check it,
// then show the list again. No innerHTML: names are shown as text only.
'use strict';

const form = document.getElementById('upload-form');
const input = document.getElementById('file');
const button = document.getElementById('upload');
const statusLine = document.getElementById('status');
const list = document.getElementById('documents');
const empty = document.getElementById('empty');

function setStatus(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
}

async function postJSON(url, body) {
  const resp = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    throw new Error(data.error || `${url}: HTTP ${resp.status}`);
  }
  return data;
}

function formatSize(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(1)} ${units[i]}`;
}

function render(docs) {
  list.replaceChildren(...docs.map((d) => {
    const li = document.createElement('li');
    li.dataset.document = d.id;
    const a = document.createElement('a');
    a.href = d.url;
    a.textContent = d.name;
    const size = document.createElement('span');
    size.className = 'size';
    size.textContent = formatSize(d.size);
    li.append(a, ' ', size);
    return li;
  }));
  empty.hidden = docs.length > 0;
}

async function refresh() {
  const resp = await fetch('/api/documents');
  const data = await resp.json();
  if (!resp.ok) throw new Error(data.error || `HTTP ${resp.status}`);
  render(data.documents);
}

async function upload(file) {
  setStatus('busy', `Preparing ${file.name}…`);
  const up = await postJSON('/api/uploads', {name: file.name, size: file.size, type: file.type});

  setStatus('busy', `Uploading ${file.name} (${formatSize(file.size)})…`);
  // Straight to storage, with exactly the headers the URL was signed with.
  // The browser sets Content-Length from the file; the signature checks it.
  const put = await fetch(up.url, {method: up.method, headers: up.headers, body: file});
  if (!put.ok) {
    throw new Error(`the store refused the upload: HTTP ${put.status}`);
  }

  const doc = await postJSON('/api/uploads/complete', {document: up.document});
  await refresh();
  setStatus('done', `Uploaded ${doc.name} (${formatSize(doc.size)}).`);
  return doc;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = input.files[0];
  if (!file) {
    setStatus('error', 'Choose a file first.');
    return;
  }
  button.disabled = true;
  try {
    await upload(file);
    form.reset();
  } catch (err) {
    setStatus('error', `Upload failed: ${err.message}`);
  } finally {
    button.disabled = false;
  }
});
