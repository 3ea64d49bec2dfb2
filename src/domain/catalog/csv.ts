/**
 * A small RFC 4180 CSV reader: comma separated, fields optionally in double quotes, `""` is a quote inside
 * a quoted field, quoted fields may hold commas and line breaks (LF, CRLF or CR). Every record carries the
 * physical line it starts on, so validation errors can point at the line an operator sees in an editor.
 */

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

export interface CsvError {
  line: number;
  reason: string;
}

export interface CsvResult {
  records: CsvRecord[];
  errors: CsvError[];
}

export function parseCsv(input: string): CsvResult {
  // Spreadsheet exports often start with a UTF-8 byte order mark; it is not part of the first header.
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  const errors: CsvError[] = [];

  let line = 1;
  let recordLine = 1;
  let fields: string[] = [];
  let field = '';
  let recordError: string | null = null;
  let i = 0;

  const endRecord = () => {
    fields.push(field);
    // A blank line is one empty field: skip it rather than report a row with every field missing.
    const blank = fields.length === 1 && fields[0] === '';
    if (recordError) errors.push({ line: recordLine, reason: recordError });
    else if (!blank) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    recordError = null;
  };

  /** Consumes a line break at i (LF, CRLF or CR); returns false when there is none. */
  const lineBreak = (): boolean => {
    const c = text[i];
    if (c === '\n' || c === '\r') {
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line += 1;
      return true;
    }
    return false;
  };

  while (i < text.length) {
    if (text[i] === '"' && field === '') {
      // Quoted field: read up to the closing quote.
      const quoteLine = line;
      i += 1;
      let closed = false;
      while (i < text.length) {
        const c = text[i];
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i += 1;
          closed = true;
          break;
        }
        if (c === '\r' || c === '\n') {
          const start = i;
          lineBreak();
          field += text.slice(start, i);
          continue;
        }
        field += c;
        i += 1;
      }
      if (!closed) {
        errors.push({ line: quoteLine, reason: 'unterminated quoted field (a " opened here is never closed)' });
        return { records, errors };
      }
      // After the closing quote only a separator, a line break or the end may follow.
      if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
        recordError ??= `unexpected character ${JSON.stringify(text[i])} after a closing quote`;
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i += 1;
      }
      continue;
    }
    const c = text[i];
    if (c === ',') {
      fields.push(field);
      field = '';
      i += 1;
    } else if (lineBreak()) {
      endRecord();
      recordLine = line;
    } else {
      field += c;
      i += 1;
    }
  }
  // The last record may or may not end with a line break.
  if (field !== '' || fields.length > 0 || recordError) endRecord();
  return { records, errors };
}

/** Quotes a value for CSV output when it needs it (used to write import templates and in tests). */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}
