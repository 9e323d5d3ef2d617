package main

import (
	"bytes"
	"io"
	"strings"
	"text/template"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
)

// banner tells a developer what runs where and how to try it. The demo keys
// are fake values of the local simulator, so printing them is fine.
var banner = template.Must(template.New("banner").Parse(`
ddconn dev stack is running.

  API                      {{.API}}
  Secrets Manager emulator {{.SM}}   (admin: /_emu/faults, /_emu/clock)
  Datadog simulator        {{.DD}}   (admin: /_sim/keys, /_sim/faults)
  Data                     {{.Data}}

Demo Datadog organisation (simulator only; site US1):
  API key                  {{.APIKey}}
  rotator service account  {{.RotatorID}}  (ddconn-rotator)
    application key        {{.AppKey}}
    scopes                 {{.Scopes}}
  metrics-writer           {{.MetricsWriterID}}  (no keys)

Try it with the CLI (make dev built it into .bin/ddconn; docs/cli.md):
  export DDCONN_ENDPOINT={{.API}} PATH="$PWD/.bin:$PATH"{{if .SigV4}}
  export AWS_ACCESS_KEY_ID={{.SigV4Key}} AWS_SECRET_ACCESS_KEY={{.SigV4Key}} AWS_REGION=us-east-1 DDCONN_AUTH=iam
  (-require-sigv4: the API refuses requests not signed with these test credentials){{end}}
  ddconn connections create demo --url https://api.datadoghq.com --credentials-file - \
    <<<'{"apiKey":"{{.APIKey}}","applicationKey":"{{.AppKey}}"}'
  ddconn status
  ddconn connections validate demo
  ddconn connections service-accounts demo

  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
    aws --endpoint-url {{.SM}} secretsmanager get-secret-value --secret-id ddconn/connections/demo

Rotation (the rotate function runs in-process as {{.RotationARN}};
the sweeper runs {{.Sweep}}). A connection's second rotation revokes the key it
started with, so try it on a connection made with a freshly minted key, not on
"demo" (docs/rotation.md walks through it):
  ddconn rotation enable NAME --schedule 'rate(30 days)' --window 2h --rotate-immediately=false
  ddconn rotate NAME --wait
  Fast-forward to scheduled rotations by moving the emulator's clock:
    curl -s -X POST {{.SM}}/_emu/clock -d '{"advance":"30d"}'
  Faults: POST {{.DD}}/_sim/faults (Datadog) or {{.SM}}/_emu/faults (Secrets Manager).
  A failed step shows in the connection's rotation.lastError and in the log on
  stderr; the emulator retries the rotation every {{.Retry}}.

Provisioning from events (an EventBridge stand-in shares {{.SM}}; bus "default").
POST delivers an event to the create function as EventBridge would and answers
with what ddconn published about it; GET lists everything ddconn published
(ddconn events put … --events-endpoint {{.SM}} goes through PutEvents instead):
  curl -s -X POST {{.API}}/_dev/events -H 'Content-Type: application/json' -d '{
    "source": "ddconn.requests", "detail-type": "Provision Application Key",
    "detail": {"connection": "demo", "name": "checkout", "serviceAccountId": "{{.MetricsWriterID}}", "scopes": ["metrics_read"]}}'
  curl -s {{.API}}/_dev/events
  docs/provisioning.md walks through all four requests.

Ctrl-C stops everything.
`))

func printBanner(w io.Writer, st *devstack.Stack, opts devstack.Options) {
	sigv4 := ""
	if opts.RequireSigV4 {
		sigv4 = "yes"
	}
	data := opts.DataDir
	if data == "" {
		data = "in memory (nothing is kept after exit)"
	}
	sweep := "every " + opts.SweepInterval.String()
	if opts.SweepInterval <= 0 {
		sweep = "never (-sweep-interval 0)"
	}
	// One write, so a reader never sees half a banner.
	var b bytes.Buffer
	_ = banner.Execute(&b, map[string]string{
		"API": st.APIURL, "SM": st.SecretsManagerURL, "DD": st.DatadogURL, "Data": data,
		"RotationARN": st.RotationFunctionARN, "Sweep": sweep, "Retry": opts.RetryInterval.String(),
		"APIKey": ddsim.DemoAPIKey, "AppKey": ddsim.DemoAppKey, "RotatorID": ddsim.DemoRotatorID,
		"MetricsWriterID": ddsim.DemoMetricsWriterID, "Scopes": strings.Join(ddsim.DemoAppKeyScopes(), ", "),
		"SigV4": sigv4, "SigV4Key": devstack.SigV4Credentials.AccessKeyID,
	})
	_, _ = w.Write(b.Bytes())
}
