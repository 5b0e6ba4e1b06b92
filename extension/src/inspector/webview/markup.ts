// The inspector page's markup: one static tree, filled in by the components (list, detail, filters, send box, stats).

/** Renders the page into `app`. Ids are the components' handles (and the UI tests'). */
export function renderMarkup(app: HTMLElement): void {
  app.innerHTML = `
<header class="toolbar" role="toolbar" aria-label="Inspector">
  <span class="title"><span class="codicon codicon-plug" aria-hidden="true"></span><span id="title">sipc</span>
    <span id="mode" class="badge"></span><span id="state" class="badge"></span></span>
  <span class="spacer"></span>
  <button id="pause" class="icon" title="Pause the list (capture continues)" aria-pressed="false"><span class="codicon codicon-debug-pause"></span></button>
  <button id="follow" class="icon" title="Follow new messages (End)" aria-pressed="true"><span class="codicon codicon-arrow-down"></span></button>
  <button id="timeMode" class="icon" title="Toggle absolute/relative time"><span class="codicon codicon-clock"></span></button>
  <button id="clear" class="icon" title="Clear the capture"><span class="codicon codicon-clear-all"></span></button>
  <label class="check" id="losslessToggle" title="Lossless: the peers never overwrite a message this observer has not copied (they wait for it; a stalled observer is dropped)" hidden><input type="checkbox" id="lossless"> lossless</label>
  <span class="separator"></span>
  <button id="record" title="Record to File…: every message from now on, whatever the panel keeps" aria-pressed="false"><span class="codicon codicon-record"></span> <span id="recordLabel">Record</span></button>
  <label class="check" title="Export only the rows the filter shows"><input type="checkbox" id="exportFiltered"> filtered only</label>
  <button id="exportJsonl" title="Export the capture as JSON Lines (base64 payloads)"><span class="codicon codicon-export"></span> JSONL</button>
  <button id="exportPcapng" title="Export the capture as pcapng for Wireshark"><span class="codicon codicon-export"></span> pcapng</button>
</header>
<section class="filters" aria-label="Filter">
  <span class="codicon codicon-filter" aria-hidden="true"></span>
  <span id="directionFilters"></span>
  <input id="filterText" type="search" placeholder="Text" aria-label="Filter by text" spellcheck="false">
  <input id="filterHex" type="search" placeholder="Hex bytes, e.g. 0d 0a" aria-label="Filter by hex bytes" spellcheck="false">
  <input id="filterMin" type="number" min="0" placeholder="Min size" aria-label="Minimum size in bytes">
  <input id="filterMax" type="number" min="0" placeholder="Max size" aria-label="Maximum size in bytes">
  <input id="filterFields" type="search" placeholder="Fields, e.g. type == 2 && value > 10" aria-label="Filter by decoded field values" spellcheck="false" hidden>
  <label class="check"><input type="checkbox" id="filterEvents" checked> events</label>
  <label class="check" title="Show every row and mark the matching ones, instead of hiding the others"><input type="checkbox" id="filterHighlight"> highlight</label>
  <span id="filterCount" class="count" aria-live="polite"></span>
  <button id="matchPrevious" class="icon" title="Previous match (Shift+Enter, Shift+F3)" disabled><span class="codicon codicon-arrow-up"></span></button>
  <button id="matchNext" class="icon" title="Next match (Enter, F3)" disabled><span class="codicon codicon-arrow-down"></span></button>
  <span id="filterError" class="error" role="alert"></span>
</section>
<div id="pausedNotice" class="notice" hidden><span class="codicon codicon-debug-pause"></span> The list is paused; the capture goes on. Resume with the ▶ button or Space in the list.</div>
<div id="dropped" class="notice" hidden><span class="codicon codicon-warning"></span> <span id="droppedText"></span></div>
<main class="split">
  <section class="list" aria-label="Messages">
    <div id="listHeader" class="row header" aria-hidden="true"><span class="c-seq" data-column="seq">#</span><span class="c-time" data-column="time"><span id="timeHeader">Time</span></span><span class="c-delta" data-column="delta">Δ</span><span class="c-dir" data-column="dir">Direction</span><span class="c-size" data-column="size">Size</span><span class="c-fields" id="fieldsHeader"></span><span class="c-preview">Preview</span></div>
    <div id="listViewport" class="viewport" tabindex="0" role="listbox" aria-label="Messages, arrow keys to move"></div>
    <div id="empty" class="empty">No messages yet.</div>
  </section>
  <section class="detail" aria-label="Selected message">
    <div class="detail-bar">
      <span id="detailTitle" class="detail-title">Select a message</span>
      <span class="spacer"></span>
      <span role="tablist" class="tabs">
        <button role="tab" id="tab-hex" data-tab="hex">Hex</button><button role="tab" id="tab-text" data-tab="text">Text</button><button role="tab" id="tab-json" data-tab="json">JSON</button>
      </span>
      <label class="check" title="Show line endings (CR, LF) in the text view"><input type="checkbox" id="showEol"> CR/LF</label>
      <button id="copyText" class="icon" title="Copy as text"><span class="codicon codicon-symbol-string"></span></button>
      <button id="copyHex" class="icon" title="Copy as hex"><span class="codicon codicon-file-binary"></span></button>
      <button id="copyBase64" class="icon" title="Copy as base64"><span class="codicon codicon-copy"></span></button>
      <button id="openEditor" class="icon" title="Open in an editor tab"><span class="codicon codicon-go-to-file"></span></button>
      <button id="saveBytes" class="icon" title="Save the bytes to a file"><span class="codicon codicon-save"></span></button>
    </div>
    <div id="hexView" class="hex-view" tabindex="0" role="grid" aria-label="Hex dump: arrows move, Shift+arrows select"></div>
    <pre id="textView" class="text-view" tabindex="0" hidden></pre>
    <pre id="jsonView" class="text-view" tabindex="0" hidden></pre>
    <div id="selectionInfo" class="selection-info"></div>
    <div id="fieldPane" class="field-pane" hidden>
      <div id="schemaInfo" class="schema-info"></div>
      <ul id="fieldProblems" class="field-problems" role="alert" hidden></ul>
      <div class="field-row header" aria-hidden="true"><span class="f-name">Field</span><span class="f-type">Type</span><span class="f-value">Value</span><span class="f-offset">Offset</span><span class="f-size">Size</span></div>
      <div id="fieldTree" class="field-tree" role="tree" tabindex="0" aria-label="Decoded fields: arrows move, Enter opens"></div>
    </div>
  </section>
</main>
<section id="plotPane" class="plot-pane" aria-label="Plot of decoded fields" hidden>
  <div class="plot-bar"><span class="codicon codicon-graph-line" aria-hidden="true"></span><span id="plotFields"></span>
    <span id="plotError" class="error" role="alert"></span><span class="spacer"></span>
    <button id="plotClose" class="icon" title="Close the plot"><span class="codicon codicon-close"></span></button></div>
  <div id="plotChart" class="plot-chart"></div>
</section>
<section id="sendBox" class="send" aria-label="Send" hidden>
  <div id="sendForm" class="send-form" hidden>
    <div class="form-bar"><select id="formType" aria-label="Message type"></select><span id="formError" class="error" role="alert"></span>
      <span class="spacer"></span><button id="formSend" title="Send these bytes (they join the history as hex)"><span class="codicon codicon-send"></span> Send</button></div>
    <div id="formFields" class="form-fields"></div>
    <div class="form-hex"><span class="form-name">Bytes</span><code id="formHex"></code></div>
  </div>
  <select id="sendFormat" aria-label="Input format"><option value="text">Text</option><option value="hex">Hex</option><option value="base64">Base64</option></select>
  <select id="lineEnding" aria-label="Line ending (text only)"><option value="none">No line ending</option><option value="lf">LF</option><option value="crlf">CRLF</option></select>
  <textarea id="sendInput" rows="1" placeholder="Message — Enter sends, Shift+Enter new line, ↑/↓ history" aria-label="Message to send" spellcheck="false"></textarea>
  <button id="send" title="Send (Enter)"><span class="codicon codicon-send"></span> Send</button>
  <button id="sendFormToggle" class="icon" title="Fill in a message from the channel's schema" hidden><span class="codicon codicon-symbol-structure"></span></button>
  <button id="sendFile" class="icon" title="Send a file as one message"><span class="codicon codicon-file"></span></button>
  <span id="sendError" class="error" role="alert"></span>
</section>
<footer id="stats" class="stats" aria-live="off"></footer>`;
}

/** The element of a given id; the markup above has them all. */
export const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
