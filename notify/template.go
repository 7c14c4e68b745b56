package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"text/template"
	"time"
)

// templateFuncs are the helpers a webhook body template may use besides the
// Event fields. json exists because most receivers want JSON and a reason
// may hold quotes; join because VIPs are a list.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join": func(vips []netip.Prefix, sep string) string {
		s := make([]string, len(vips))
		for i, p := range vips {
			s[i] = p.String()
		}
		return strings.Join(s, sep)
	},
}

// parseTemplate compiles a webhook body template.
func parseTemplate(text string) (*template.Template, error) {
	t, err := template.New("body").Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	return t, nil
}

// checkTemplate parses a template and renders it once for a sample event,
// so that a misspelt field fails validation rather than the first failover.
func checkTemplate(text string) error {
	t, err := parseTemplate(text)
	if err != nil {
		return err
	}
	_, err = render(t, Event{
		Node: "kdc1", Instance: "VI_1", State: StateMaster, PrevState: StateBackup, Priority: 100,
		Reason: "sample", VIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}, Time: time.Now(), Seq: 1,
	})
	return err
}

// render produces a request body: the rendered template, or the event's JSON
// when there is none.
func render(t *template.Template, ev Event) ([]byte, error) {
	if t == nil {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode event: %w", err)
		}
		return b, nil
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, ev); err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	return buf.Bytes(), nil
}
