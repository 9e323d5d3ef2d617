package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/ddconn/ddconn/pkg/awsconfig"
	"github.com/ddconn/ddconn/pkg/eventbus"
)

// maxDetail bounds a detail read from a file or stdin (EventBridge's entry
// limit; the publisher checks the entry itself).
const maxDetail = 256 << 10

func (a *app) eventsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "events",
		Short: "Send provisioning requests to the stack's EventBridge bus",
		Example: `  ddconn events put 'Provision Application Key' --detail-file request.json
  ddconn events put create-connection --detail '{"name":"team-a","url":"https://api.datadoghq.com","credentialsSecretArn":"arn:…"}'`,
	}
	c.AddCommand(a.eventsPut())
	return c
}

func (a *app) eventsPut() *cobra.Command {
	var detail, detailFile, bus, endpoint string
	kebab := make([]string, 0, len(eventbus.RequestTypes))
	for _, t := range eventbus.RequestTypes {
		kebab = append(kebab, kebabCase(t))
	}
	c := &cobra.Command{
		Use:   "put DETAIL-TYPE (--detail JSON | --detail-file FILE|-)",
		Short: "Put a provisioning request on the bus (EventBridge PutEvents) and print its event id",
		Long: `Puts one event with source ` + eventbus.RequestSource + ` on the stack's bus with EventBridge's
PutEvents, signed with your AWS credentials. DETAIL-TYPE is one of "` + strings.Join(eventbus.RequestTypes, `", "`) + `"
(or ` + strings.Join(kebab, ", ") + `); the detail is described in docs/provisioning.md. Events
never carry keys: a new connection's keys go in a staging secret that the request names.
The answer comes back as an event on the same bus, with the printed id as its requestId.

The bus: --bus, else the profile's eventBus, else "default". The endpoint: --events-endpoint,
else the profile's eventsEndpoint, else the AWS SDK's (AWS_ENDPOINT_URL_EVENTBRIDGE). Against
make dev, --events-endpoint http://127.0.0.1:4566 reaches its EventBridge stand-in.`,
		Example: `  ddconn events put 'Provision Application Key' --detail '{"connection":"team-a","name":"checkout",
    "serviceAccountId":"00000000-0000-4000-8000-0000000000b2","scopes":["metrics_read"]}'
  ddconn events put delete-managed-key --detail-file - <<<'{"connection":"team-a","kind":"application-key","name":"checkout"}'`,
		Args:      args("DETAIL-TYPE"),
		ValidArgs: kebab,
		RunE: a.run(func(ctx context.Context, args []string) error {
			detailType, ok := requestType(args[0])
			if !ok {
				return usageErrorf("unknown detail type %q: want one of %q", args[0], eventbus.RequestTypes)
			}
			body, err := a.readDetail(detail, detailFile)
			if err != nil {
				return err
			}
			id, err := a.putEvent(ctx, bus, endpoint, detailType, body)
			if err != nil {
				return err
			}
			out := map[string]string{"eventId": id, "detailType": detailType}
			return a.emit(out, func(w io.Writer) { fmt.Fprintln(w, id) })
		}),
	}
	c.Flags().StringVar(&detail, "detail", "", "the request's detail, a JSON object")
	c.Flags().StringVar(&detailFile, "detail-file", "", "a file holding the detail; - reads it from stdin")
	c.Flags().StringVar(&bus, "bus", "", `the event bus's name or ARN (default: the profile's eventBus, else "default")`)
	c.Flags().StringVar(&endpoint, "events-endpoint", "", "EventBridge's endpoint URL (default: the AWS SDK's)")
	return c
}

// requestType accepts a detail type as written or in kebab case.
func requestType(s string) (string, bool) {
	for _, t := range eventbus.RequestTypes {
		if s == t || s == kebabCase(t) {
			return t, true
		}
	}
	return "", false
}

func kebabCase(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "-")) }

// readDetail reads the detail, a JSON object, and refuses one that holds
// Datadog keys: requests carry a staging secret's ARN instead.
func (a *app) readDetail(detail, file string) (map[string]json.RawMessage, error) {
	var b []byte
	switch {
	case (detail == "") == (file == ""):
		return nil, usageErrorf("give the detail with --detail JSON or --detail-file FILE (- for stdin)")
	case detail != "":
		b = []byte(detail)
	case file == "-":
		var err error
		if b, err = io.ReadAll(io.LimitReader(a.stdio.Stdin, maxDetail+1)); err != nil {
			return nil, fmt.Errorf("reading the detail from stdin: %w", err)
		}
	default:
		var err error
		if b, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("reading the detail: %w", err)
		}
	}
	if len(b) > maxDetail {
		return nil, usageErrorf("the detail is over %d KiB", maxDetail>>10)
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, usageErrorf("the detail is not one JSON object")
	}
	for _, field := range []string{"apiKey", "applicationKey", "credentials"} {
		if _, ok := obj[field]; ok {
			return nil, usageErrorf("the detail has %q: requests never carry keys; write them to a staging secret and "+
				"name it in credentialsSecretArn (docs/provisioning.md)", field)
		}
	}
	return obj, nil
}

// putEvent publishes the request with eventbus's publisher on the AWS
// configuration the run resolved. A loopback endpoint (make dev's
// stand-in) takes the static test credentials, as it accepts any.
func (a *app) putEvent(ctx context.Context, bus, endpoint, detailType string, detail any) (string, error) {
	p, err := a.loadProfile()
	if err != nil {
		return "", err
	}
	bus = cmp.Or(bus, p.EventBus, defaultEventBus)
	endpoint = cmp.Or(endpoint, p.EventsEndpoint)
	t := &target{profile: p, region: cmp.Or(a.region, p.Region)}
	var cfg aws.Config
	if endpoint != "" && isLoopbackURL(endpoint) {
		cfg = aws.Config{Region: cmp.Or(t.region, a.getenv("AWS_REGION"), a.getenv("AWS_DEFAULT_REGION"), "us-east-1"),
			Credentials: credentials.NewStaticCredentialsProvider(awsconfig.StaticKey, awsconfig.StaticKey, "")}
	} else if cfg, err = a.awsConfig(ctx, t); err != nil {
		return "", err
	}
	pub, err := eventbus.NewFromConfig(cfg, eventbus.Options{Bus: bus, Source: eventbus.RequestSource, Endpoint: endpoint})
	if err != nil {
		return "", usageErrorf("--bus %q: %v", bus, err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	id, err := pub.Publish(ctx, detailType, detail)
	if err == nil {
		return id, nil
	}
	classified := classifyAWSError(err)
	var auth *authError
	if !errors.As(classified, &auth) && errors.Is(err, eventbus.ErrRejected) {
		return "", &refusedError{err: err}
	}
	return "", classified
}

func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && isLoopback(u.Hostname())
}
