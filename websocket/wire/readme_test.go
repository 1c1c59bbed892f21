package wire_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/echows/echows/websocket/wire"
)

// closeReasons pairs every close code the server sends with the reason it
// sends with it. TestCloseConstantsArePaired keeps it complete, and
// TestREADMECloseCodes keeps the README's table equal to it: a close code
// added to events.go must be added here and documented.
var closeReasons = map[int]string{
	wire.CloseGoingAway:      wire.ReasonShuttingDown,
	wire.CloseProtocolError:  wire.ReasonProtocolError,
	wire.CloseInvalidPayload: wire.ReasonInvalidUTF8,
	wire.ClosePolicy:         wire.ReasonTooManyConns,
	wire.CloseMessageTooBig:  wire.ReasonMessageTooBig,
	wire.CloseTryAgainLater:  wire.ReasonBackpressure,
	wire.CloseAuthTimeout:    wire.ReasonAuthTimeout,
	wire.CloseHeartbeat:      wire.ReasonHeartbeat,
	wire.CloseAuthFailed:     wire.ReasonAuthFailed,
	wire.CloseEncryptionReq:  wire.ReasonEncryptionReq,
}

// constants returns the values of the package's constants whose names
// start with prefix, read from its source.
func constants(t *testing.T, prefix string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, prefix) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: %s is not a literal", name, id.Name)
					}
					v := lit.Value
					if lit.Kind == token.STRING {
						if v, err = strconv.Unquote(v); err != nil {
							t.Fatal(err)
						}
					}
					out[id.Name] = v
				}
			}
		}
	}
	return out
}

func TestCloseConstantsArePaired(t *testing.T) {
	for name, v := range constants(t, "Close") {
		code, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s = %s: %v", name, v, err)
		}
		if _, ok := closeReasons[code]; !ok {
			t.Errorf("%s (%d) has no reason in closeReasons", name, code)
		}
	}
	reasons := slices.Collect(maps.Values(closeReasons))
	for name, v := range constants(t, "Reason") {
		if !slices.Contains(reasons, v) {
			t.Errorf("%s (%q) goes with no close code in closeReasons", name, v)
		}
	}
}

// The README's table of close codes: "| close code | reason | when |", a
// row per code, the reason the first `quoted` text of its second column.
func TestREADMECloseCodes(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const header = "| close code | reason | when |"
	_, table, ok := strings.Cut(string(readme), "\n"+header+"\n")
	if !ok {
		t.Fatalf("README.md has no table headed %q", header)
	}
	quoted := regexp.MustCompile("`([^`]*)`")
	got := map[int]string{}
	for _, row := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(row, "|") {
			break
		}
		cells := strings.Split(row, "|")
		if len(cells) < 4 {
			t.Fatalf("README row %q: want three columns", row)
		}
		code, err := strconv.Atoi(strings.TrimSpace(cells[1]))
		if err != nil {
			t.Fatalf("README row %q: %v", row, err)
		}
		m := quoted.FindStringSubmatch(cells[2])
		if m == nil {
			t.Fatalf("README row %q: no `reason`", row)
		}
		if _, dup := got[code]; dup {
			t.Errorf("README: %d twice", code)
		}
		got[code] = m[1]
	}
	for code, reason := range closeReasons {
		switch r, ok := got[code]; {
		case !ok:
			t.Errorf("README: no row for %d (the server sends it with %q)", code, reason)
		case r != reason:
			t.Errorf("README: %d with %q; the server sends %q", code, r, reason)
		}
	}
	for code, reason := range got {
		if _, ok := closeReasons[code]; !ok {
			t.Errorf("README: %d %q, which the server never sends", code, reason)
		}
	}
}
