package docs_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// markdownFiles are the documentation files, in reading order: the README
// first, then the files whose walkthroughs build on it. Walkthroughs run in
// this order; a walkthrough in a file missing from the list fails the test.
var markdownFiles = []string{"../README.md", "cli.md", "api.md", "rotation.md", "provisioning.md", "access.md", "deploy.md", "consumers.md",
	"development.md", "architecture.md", "security.md", "benchmarks.md", "scale.md"}

// A shell block is preceded by one of these comments: the first marks a
// block of the walkthrough NAME, the second a block that cannot run locally.
var (
	walkthroughMarker = regexp.MustCompile(`^<!-- walkthrough: ([a-z0-9-]+) -->$`)
	notRunMarker      = regexp.MustCompile(`^<!-- not a walkthrough: .+ -->$`)
)

// block is one fenced code block.
type block struct {
	file   string
	line   int    // of the opening fence
	lang   string // "sh", "json", "" …
	marker string // the line before the fence, blank lines skipped
	text   string
}

func (b block) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

func isShell(lang string) bool { return lang == "sh" || lang == "bash" || lang == "shell" }

// readBlocks returns the fenced code blocks of a Markdown file.
func readBlocks(path string) ([]block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		blocks   []block
		cur      *block
		lastText string
		body     strings.Builder
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{file: filepath.Base(path), line: n, lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), marker: lastText}
			body.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.text = body.String()
			blocks = append(blocks, *cur)
			cur, lastText = nil, ""
		case cur != nil:
			body.WriteString(line + "\n")
		case strings.TrimSpace(line) != "":
			lastText = strings.TrimSpace(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s: the block opened on line %d is never closed", path, cur.line)
	}
	return blocks, nil
}

// walkthrough is the shell blocks of one name, joined in document order.
type walkthrough struct {
	name   string
	file   string
	blocks []block
}

func (w walkthrough) script() string {
	var b strings.Builder
	for _, bl := range w.blocks {
		fmt.Fprintf(&b, "# %s\n%s\n", bl, bl.text)
	}
	return b.String()
}

// readWalkthroughs returns the walkthroughs of markdownFiles in order. It
// fails the test for a shell block without a marker, a marker before
// anything but a shell block, or a walkthrough spread over two files.
func readWalkthroughs(t *testing.T) []walkthrough {
	t.Helper()
	var (
		out   []walkthrough
		index = map[string]int{}
	)
	for _, path := range markdownFiles {
		blocks, err := readBlocks(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			m := walkthroughMarker.FindStringSubmatch(b.marker)
			switch {
			case m != nil && !isShell(b.lang):
				t.Errorf("%s: a walkthrough marker before a %q block: only shell blocks run", b, b.lang)
			case m != nil:
				i, ok := index[m[1]]
				if !ok {
					i = len(out)
					index[m[1]] = i
					out = append(out, walkthrough{name: m[1], file: b.file})
				}
				if out[i].file != b.file {
					t.Errorf("%s: walkthrough %q already started in %s: give it another name", b, m[1], out[i].file)
				}
				out[i].blocks = append(out[i].blocks, b)
			case isShell(b.lang) && !notRunMarker.MatchString(b.marker):
				t.Errorf("%s: a shell block needs <!-- walkthrough: NAME --> or <!-- not a walkthrough: REASON --> before it", b)
			}
		}
	}
	return out
}

// TestEveryFileIsListed keeps markdownFiles complete.
func TestEveryFileIsListed(t *testing.T) {
	found, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if !strings.Contains(strings.Join(markdownFiles, " "), f) {
			t.Errorf("%s is not in markdownFiles: add it, in reading order", f)
		}
	}
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`^#{1,6} (.+)$`)
)

// anchor is GitHub's id for a heading: lower case, punctuation other than
// '-' and '_' dropped, spaces as '-'.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the heading ids of a Markdown file, outside code blocks.
func anchors(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	inCode := false
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if m := heading.FindStringSubmatch(line); m != nil && !inCode {
			out[anchor(strings.ReplaceAll(m[1], "`", ""))] = true
		}
	}
	return out, nil
}

// TestRelativeLinksResolve checks every relative link of the docs: the
// file exists and, with a #fragment, has that heading.
func TestRelativeLinksResolve(t *testing.T) {
	for _, path := range markdownFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			resolved := path
			if file != "" {
				resolved = filepath.Join(filepath.Dir(path), file)
			}
			if _, err := os.Stat(resolved); err != nil {
				t.Errorf("%s links to %s: %v", path, target, err)
				continue
			}
			if frag == "" || !strings.HasSuffix(resolved, ".md") {
				continue
			}
			ids, err := anchors(resolved)
			if err != nil {
				t.Fatal(err)
			}
			if !ids[frag] {
				t.Errorf("%s links to %s: %s has no heading with id %q", path, target, resolved, frag)
			}
		}
	}
}

func TestAnchor(t *testing.T) {
	tests := []struct{ title, want string }{
		{"A five-minute tour", "a-five-minute-tour"},
		{"Environment (pkg/config)", "environment-pkgconfig"},
		{"Secret document (pkg/connection; the SecretString of a connection secret)", "secret-document-pkgconnection-the-secretstring-of-a-connection-secret"},
		{"Delivery is at-least-once, and so is ddconn's answer", "delivery-is-at-least-once-and-so-is-ddconns-answer"},
		{"1. Mint a key to rotate", "1-mint-a-key-to-rotate"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			if got := anchor(tt.title); got != tt.want {
				t.Errorf("anchor(%q) = %q, want %q", tt.title, got, tt.want)
			}
		})
	}
}
