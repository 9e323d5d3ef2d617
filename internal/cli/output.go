package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// ANSI colours, used only on a terminal.
const (
	colourRed    = "31"
	colourGreen  = "32"
	colourYellow = "33"
)

// paint colours s when stdout is a terminal.
func (a *app) paint(colour, s string) string {
	if !a.colour || s == "" {
		return s
	}
	return "\x1b[" + colour + "m" + s + "\x1b[0m"
}

// printJSON writes v (or, for a []byte, the API's answer as it came),
// indented, on stdout: -o json's output.
func (a *app) printJSON(v any) error {
	var raw []byte
	switch v := v.(type) {
	case []byte:
		raw = v
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return fmt.Errorf("encoding the output: %w", err)
		}
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("formatting the answer: %w", err)
	}
	buf.WriteByte('\n')
	_, err := a.stdio.Stdout.Write(buf.Bytes())
	return err
}

// emit prints a command's result: the JSON (raw, an API answer, or any
// value) with -o json, else what table writes.
func (a *app) emit(raw any, table func(w io.Writer)) error {
	if a.output == outputJSON {
		return a.printJSON(raw)
	}
	tw := tabwriter.NewWriter(a.stdio.Stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// row writes one tab-separated table row.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// when formats a time for tables ("-" for none).
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine shortens s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
