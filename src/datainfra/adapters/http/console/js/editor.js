// The query text editor: CodeMirror 5 with SQL (PostgreSQL) or Cypher highlighting. Ctrl/Cmd+Enter
// runs; Tab leaves the editor (so the keyboard is never trapped), Ctrl+] indents.

const MODES = { sql: "text/x-pgsql", cypher: "application/x-cypher-query" };

export function createEditor(textarea, { onRun }) {
  const cm = window.CodeMirror.fromTextArea(textarea, {
    mode: MODES.sql,
    lineNumbers: true,
    inputStyle: "contenteditable",
    screenReaderLabel: "Query text",
    extraKeys: {
      "Ctrl-Enter": () => onRun(),
      "Cmd-Enter": () => onRun(),
      Tab: false,
      "Shift-Tab": false,
      "Ctrl-]": "indentMore",
      "Ctrl-[": "indentLess",
    },
    viewportMargin: Infinity,
  });
  let mark = null;
  return {
    get value() {
      return cm.getValue();
    },
    set value(text) {
      cm.setValue(text);
    },
    setLanguage(language) {
      cm.setOption("mode", MODES[language]);
    },
    /** Underline the place a problem points at (line and column, 1-based). */
    markPosition(position) {
      if (mark) mark.clear();
      mark = null;
      if (!position) return;
      const line = Math.max(0, position.line - 1);
      const ch = Math.max(0, position.column - 1);
      const lineText = cm.getLine(line) || "";
      const end = Math.min(lineText.length, ch + Math.max(1, (/^\S+/.exec(lineText.slice(ch)) || [""])[0].length));
      mark = cm.markText({ line, ch }, { line, ch: Math.max(end, ch + 1) }, { className: "cm-problem" });
      cm.setCursor({ line, ch });
    },
    focus: () => cm.focus(),
    refresh: () => cm.refresh(),
    cm,
  };
}
