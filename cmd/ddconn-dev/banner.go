package main

import (
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

Try it:
  curl -s -X POST {{.API}}/connections -H 'Content-Type: application/json' -d '{
    "name": "demo", "description": "demo org",
    "credentials": {"url": "https://api.datadoghq.com", "apiKey": "{{.APIKey}}", "applicationKey": "{{.AppKey}}"}}'
  curl -s {{.API}}/connections/demo
  curl -s -X POST {{.API}}/connections/demo/validate
  curl -s {{.API}}/connections/demo/service-accounts

  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
    aws --endpoint-url {{.SM}} secretsmanager get-secret-value --secret-id ddconn/connections/demo

Rotation (the rotate function runs in-process as {{.RotationARN}};
the sweeper runs {{.Sweep}}). A connection's second rotation revokes the key it
started with, so try it on a connection made with a freshly minted key, not on
"demo" (docs/rotation.md walks through it):
  curl -s -X PUT {{.API}}/connections/NAME/rotation -H 'Content-Type: application/json' \
    -d '{"schedule":"rate(30 days)","window":"2h","rotateImmediately":false}'
  curl -s -X POST {{.API}}/connections/NAME/rotate
  Fast-forward to scheduled rotations by moving the emulator's clock:
    curl -s -X POST {{.SM}}/_emu/clock -d '{"advance":"30d"}'
  Faults: POST {{.DD}}/_sim/faults (Datadog) or {{.SM}}/_emu/faults (Secrets Manager).
  A failed step shows in the connection's rotation.lastError and in the log on
  stderr; the emulator retries the rotation every {{.Retry}}.

Provisioning from events (an EventBridge stand-in shares {{.SM}}; bus "default").
POST delivers an event to the create function as EventBridge would and answers
with what ddconn published about it; GET lists everything ddconn published:
  curl -s -X POST {{.API}}/_dev/events -H 'Content-Type: application/json' -d '{
    "source": "ddconn.requests", "detail-type": "Provision Application Key",
    "detail": {"connection": "demo", "name": "checkout", "serviceAccountId": "{{.MetricsWriterID}}", "scopes": ["metrics_read"]}}'
  curl -s {{.API}}/_dev/events
  docs/provisioning.md walks through all four requests.

Ctrl-C stops everything.
`))

func printBanner(w io.Writer, st *devstack.Stack, opts devstack.Options) {
	data := opts.DataDir
	if data == "" {
		data = "in memory (nothing is kept after exit)"
	}
	sweep := "every " + opts.SweepInterval.String()
	if opts.SweepInterval <= 0 {
		sweep = "never (-sweep-interval 0)"
	}
	_ = banner.Execute(w, map[string]string{
		"API": st.APIURL, "SM": st.SecretsManagerURL, "DD": st.DatadogURL, "Data": data,
		"RotationARN": st.RotationFunctionARN, "Sweep": sweep, "Retry": opts.RetryInterval.String(),
		"APIKey": ddsim.DemoAPIKey, "AppKey": ddsim.DemoAppKey, "RotatorID": ddsim.DemoRotatorID,
		"MetricsWriterID": ddsim.DemoMetricsWriterID, "Scopes": strings.Join(ddsim.DemoAppKeyScopes(), ", "),
	})
}
