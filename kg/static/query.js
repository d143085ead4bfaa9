// The SPARQL editor of /query: syntax highlighting, running queries without leaving the page,
// and example queries that fill the editor. The page works without this file: the form and the
// example links are plain GET requests rendered by the server (kg/web/query_editor.py).
//
// Highlighting: a <pre> under a transparent <textarea> shows the same text, coloured. The
// textarea stays the real, accessible input (label, keyboard, undo); the <pre> is aria-hidden.
// Results: fetched from /query.json, which answers with the rows, cells and page links the
// server-side table shows; everything is inserted with textContent, never as HTML.
(function () {
  "use strict";

  var editor = document.getElementById("query-editor");
  var form = document.getElementById("query-form");
  var results = document.getElementById("results");
  var examples = document.getElementById("examples");
  if (!editor || !form || !results) return;

  // ------------------------------------------------------------------ highlighting

  var KEYWORDS = new Set((
    "BASE PREFIX SELECT CONSTRUCT DESCRIBE ASK WHERE FROM NAMED DISTINCT REDUCED AS GROUP BY " +
    "HAVING ORDER ASC DESC LIMIT OFFSET VALUES OPTIONAL UNION MINUS GRAPH SERVICE SILENT FILTER " +
    "BIND EXISTS NOT IN UNDEF A COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT SEPARATOR STR LANG " +
    "LANGMATCHES DATATYPE BOUND IRI URI BNODE RAND ABS CEIL FLOOR ROUND CONCAT STRLEN UCASE LCASE " +
    "ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS STRBEFORE STRAFTER YEAR MONTH DAY HOURS MINUTES " +
    "SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1 SHA256 SHA384 SHA512 COALESCE IF STRLANG " +
    "STRDT SAMETERM ISIRI ISURI ISBLANK ISLITERAL ISNUMERIC REGEX SUBSTR REPLACE TRUE FALSE"
  ).split(" "));

  // One alternation, tried at each position: the first group that matches names the token.
  var TOKEN = new RegExp([
    "(#[^\\n]*)",                                                       // 1 comment
    "('''[\\s\\S]*?'''|\"\"\"[\\s\\S]*?\"\"\"|'(?:[^'\\\\\\n]|\\\\.)*'|\"(?:[^\"\\\\\\n]|\\\\.)*\")", // 2 string
    "(<[^<>\"{}|^`\\\\\\s]*>)",                                          // 3 IRI
    "([?$][A-Za-z0-9_\\u00b7-\\uffff]+)",                               // 4 variable
    "((?:[A-Za-z][\\w.-]*)?:[\\w.:%-]*|_:[\\w.-]+)",                   // 5 prefixed name, blank node
    "([A-Za-z_][A-Za-z0-9_]*)",                                         // 6 word (keyword?)
    "([+-]?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)",                        // 7 number
  ].join("|"), "g");
  var CLASSES = [null, "tok-comment", "tok-string", "tok-iri", "tok-var", "tok-pname", "tok-keyword", "tok-number"];

  function highlight(text, target) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    var match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(text)) !== null) {
      if (match[0] === "") { TOKEN.lastIndex++; continue; }
      if (match.index > last) fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
      var group = 1;
      while (match[group] === undefined) group++;
      var cls = CLASSES[group];
      if (group === 6 && !KEYWORDS.has(match[0].toUpperCase())) cls = null;
      if (cls) {
        var span = document.createElement("span");
        span.className = cls;
        span.textContent = match[0];
        fragment.appendChild(span);
      } else {
        fragment.appendChild(document.createTextNode(match[0]));
      }
      last = match.index + match[0].length;
    }
    fragment.appendChild(document.createTextNode(text.slice(last) + "\n "));  // room for a last empty line
    target.textContent = "";
    target.appendChild(fragment);
  }

  var wrapper = editor.parentNode;
  var shadow = document.createElement("pre");
  shadow.className = "highlight";
  shadow.setAttribute("aria-hidden", "true");
  var code = document.createElement("code");
  shadow.appendChild(code);
  wrapper.insertBefore(shadow, editor);
  wrapper.classList.add("enhanced");

  function refresh() {
    highlight(editor.value, code);
    shadow.scrollTop = editor.scrollTop;
    shadow.scrollLeft = editor.scrollLeft;
  }
  editor.addEventListener("input", refresh);
  editor.addEventListener("scroll", function () {
    shadow.scrollTop = editor.scrollTop;
    shadow.scrollLeft = editor.scrollLeft;
  });
  refresh();

  // ------------------------------------------------------------------ results

  function element(name, text, cls) {
    var node = document.createElement(name);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function cellNode(cell) {
    var td = document.createElement("td");
    if (!cell) return td;
    if (cell.type === "iri" && cell.link) {
      var a = element("a", cell.value);
      a.href = cell.link;  // always a path of this site, computed by the server
      td.appendChild(a);
    } else if (cell.type === "bnode") {
      td.appendChild(element("code", cell.value));
    } else {
      td.appendChild(document.createTextNode(cell.value));
      if (cell.lang) { td.appendChild(document.createTextNode(" ")); td.appendChild(element("small", "@" + cell.lang)); }
      else if (cell.datatype) { td.appendChild(document.createTextNode(" ")); td.appendChild(element("small", shortName(cell.datatype))); }
    }
    return td;
  }

  function shortName(iri) {
    var xsd = "http://www.w3.org/2001/XMLSchema#";
    return iri.indexOf(xsd) === 0 ? "xsd:" + iri.slice(xsd.length) : iri;
  }

  function showError(title, detail) {
    results.textContent = "";
    results.appendChild(element("h2", title));
    var pre = element("pre", detail, "query-error");
    pre.setAttribute("role", "alert");
    results.appendChild(pre);
  }

  function showResults(data) {
    results.textContent = "";
    results.appendChild(element("h2", "Results"));
    if (data.kind === "ask") {
      var p = element("p", "The answer is ", "boolean");
      p.appendChild(element("strong", data.boolean ? "yes (true)" : "no (false)"));
      p.appendChild(document.createTextNode("."));
      results.appendChild(p);
    } else {
      var n = data.rows.length;
      var noun = data.kind === "graph" ? "triple" : "row";
      var text = n.toLocaleString("en") + (data.truncated ? "+" : "") + " " + noun + (n === 1 ? "" : "s");
      if (data.truncated) text += ": only the first " + data.limit.toLocaleString("en") + " are shown, download the results for all of them";
      results.appendChild(element("p", text + ".", "count"));
      if (n) {
        var scroll = element("div", null, "table-scroll");
        var table = element("table", null, "results-table");
        var head = table.createTHead().insertRow();
        data.variables.forEach(function (name) {
          var th = element("th", name);
          th.scope = "col";
          head.appendChild(th);
        });
        var body = table.createTBody();
        data.rows.forEach(function (row) {
          var tr = body.insertRow();
          row.forEach(function (cell) { tr.appendChild(cellNode(cell)); });
        });
        scroll.appendChild(table);
        results.appendChild(scroll);
      }
    }
    var links = element("p", "Download: ", "downloads");
    var order = ["json", "xml", "csv", "tsv", "ttl", "nt", "rdf", "jsonld"];
    order.filter(function (fmt) { return fmt in data.downloads; }).forEach(function (fmt, i) {
      if (i) links.appendChild(document.createTextNode(", "));
      var a = element("a", fmt.toUpperCase());
      a.href = data.downloads[fmt];
      a.setAttribute("download", "");
      links.appendChild(a);
    });
    results.appendChild(links);
  }

  var running = null;

  function run() {
    refresh();  // the value may have been set by a script, without an input event
    var text = editor.value;
    if (!text.trim()) return;
    if (running) running.abort();
    running = new AbortController();
    results.setAttribute("aria-busy", "true");
    fetch("/query.json", {
      method: "POST",
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ query: text }),
      signal: running.signal,
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) showError("The query could not be run", data.detail || data.error || response.statusText);
        else showResults(data);
      }, function () { showError("The query could not be run", "HTTP " + response.status); });
    }).catch(function (error) {
      if (error.name !== "AbortError") showError("The query could not be run", String(error));
    }).finally(function () {
      results.removeAttribute("aria-busy");
    });
    var url = "/query?" + new URLSearchParams({ query: text }).toString();
    if (url.length < 2000) history.replaceState(null, "", url);  // bookmarkable, as without JS
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
  editor.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  document.querySelectorAll(".js-only").forEach(function (node) { node.hidden = false; });

  if (examples) {
    examples.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-query]");
      if (!link) return;
      event.preventDefault();
      editor.value = link.getAttribute("data-query");
      refresh();
      editor.focus();
      run();
    });
  }
})();
