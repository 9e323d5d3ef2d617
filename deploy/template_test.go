package deploy

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/metrics"
)

// makefileFunctions reads FUNCTIONS from the Makefile: logical id → folder
// under functions/. The build-<LogicalId> targets are generated from it.
func makefileFunctions(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "FUNCTIONS")
		if !ok {
			continue
		}
		_, list, ok := strings.Cut(rest, ":=")
		if !ok {
			continue
		}
		out := map[string]string{}
		for _, pair := range strings.Fields(list) {
			id, folder, ok := strings.Cut(pair, ":")
			if !ok {
				t.Fatalf("Makefile FUNCTIONS entry %q: want LogicalId:folder", pair)
			}
			out[id] = folder
		}
		return out
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatal("Makefile has no `FUNCTIONS :=` line")
	return nil
}

func TestFunctionsAreBuiltTheLambdaWay(t *testing.T) {
	tpl := loadTemplate(t)
	folders := makefileFunctions(t)
	ids := tpl.Functions()
	if len(ids) == 0 {
		t.Fatal("template has no AWS::Serverless::Function")
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			p := tpl.FunctionProperties(id)
			for key, want := range map[string]any{
				"Runtime":       "provided.al2023",
				"Handler":       "bootstrap",
				"Architectures": []any{"arm64"},
				// SAM runs `make build-<LogicalId>` in CodeUri: the Makefile and
				// go.mod are at the root, so the code URI is the root too.
				"CodeUri": ".",
			} {
				if !reflect.DeepEqual(p[key], want) {
					t.Errorf("%s = %#v, want %#v", key, p[key], want)
				}
			}
			if got := tpl.Resources[id].Metadata["BuildMethod"]; got != "makefile" {
				t.Errorf("Metadata.BuildMethod = %#v, want makefile", got)
			}
			folder, ok := folders[id]
			if !ok {
				t.Fatalf("Makefile FUNCTIONS has no %s:<folder>, so there is no build-%s target", id, id)
			}
			if _, err := os.Stat(filepath.Join(repoRoot, "functions", folder, "main.go")); err != nil {
				t.Errorf("functions/%s/main.go: %v", folder, err)
			}
			if _, ok := p["MemorySize"].(int); !ok {
				t.Errorf("MemorySize = %#v, want a size chosen for the function", p["MemorySize"])
			}
		})
	}
	for id := range folders {
		if !slices.Contains(ids, id) {
			t.Errorf("Makefile FUNCTIONS builds %s, which template.yaml does not deploy", id)
		}
	}
}

// TestMakeTargetsBuildAsSAMExpects asks make what build-<LogicalId> would
// run (make -n: nothing is built) and checks the command line.
func TestMakeTargetsBuildAsSAMExpects(t *testing.T) {
	if _, err := lookPath("make"); err != nil {
		t.Skip("make not on PATH")
	}
	for id, folder := range makefileFunctions(t) {
		t.Run(id, func(t *testing.T) {
			out, err := runIn(repoRoot, "make", "-n", "--no-print-directory", "build-"+id, "ARTIFACTS_DIR=/sam/artifacts")
			if err != nil {
				t.Fatalf("make -n build-%s: %v\n%s", id, err, out)
			}
			for _, want := range []string{
				"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0",
				"-tags lambda.norpc", "-trimpath", `-ldflags="-s -w"`,
				"-o /sam/artifacts/bootstrap ./functions/" + folder,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("build-%s runs %q, missing %q", id, strings.TrimSpace(out), want)
				}
			}
		})
	}
}

// route is "METHOD /path", as in httpapi.Route.Key.
type route = string

// eventRoutes lists a function's HttpApi event routes, each checked to
// target the stack's one API.
func eventRoutes(t *testing.T, tpl *Template, id string) []route {
	t.Helper()
	var routes []route
	for name, ev := range asMap(tpl.Resources[id].Properties["Events"]) {
		e := asMap(ev)
		if e["Type"] != "HttpApi" {
			continue
		}
		p := asMap(e["Properties"])
		if !reflect.DeepEqual(p["ApiId"], ref("HttpApi")) {
			t.Errorf("%s event %s: ApiId = %#v, want !Ref HttpApi (routes without it land on an implicit, unauthorised API)", id, name, p["ApiId"])
		}
		method, _ := p["Method"].(string)
		path, _ := p["Path"].(string)
		routes = append(routes, strings.ToUpper(method)+" "+path)
	}
	slices.Sort(routes)
	return routes
}

func TestRoutesMatchTheHandlersRouteTable(t *testing.T) {
	tpl := loadTemplate(t)
	folders := makefileFunctions(t)

	served := map[string][]route{} // folder → routes its handler serves
	for _, r := range httpapi.Routes {
		served[r.Function] = append(served[r.Function], r.Key())
	}
	for _, id := range tpl.Functions() {
		folder := folders[id]
		t.Run(id, func(t *testing.T) {
			inTemplate := eventRoutes(t, tpl, id)
			handled := served[folder]
			slices.Sort(handled)
			for _, r := range inTemplate {
				if !slices.Contains(handled, r) {
					t.Errorf("template routes %q to %s, but httpapi.Routes does not give it to %q", r, id, folder)
				}
			}
			for _, r := range handled {
				if !slices.Contains(inTemplate, r) {
					t.Errorf("httpapi.Routes has %q for %q, but template.yaml does not route it to %s", r, folder, id)
				}
			}
		})
		delete(served, folder)
	}
	for folder, routes := range served {
		t.Errorf("httpapi.Routes gives %v to %q, which no function in template.yaml deploys", routes, folder)
	}
}

// wantSecurity is the authorisation of every operation: the AWS_IAM
// authoriser, or the JWT authoriser when AuthMode is JWT.
var wantSecurity = map[string]any{"Fn::If": []any{
	"UseJwt",
	[]any{map[string]any{"JwtAuthorizer": []any{}}},
	[]any{map[string]any{"AWS_IAM": []any{}}},
}}

func TestEveryRouteIsAuthorised(t *testing.T) {
	tpl := loadTemplate(t)
	api := tpl.Resources["HttpApi"]
	if api.Type != "AWS::Serverless::HttpApi" {
		t.Fatalf("HttpApi is %q, want AWS::Serverless::HttpApi", api.Type)
	}
	body := asMap(api.Properties["DefinitionBody"])

	// The operations of the definition body, each with its security.
	inBody := map[route]any{}
	for path, ops := range asMap(body["paths"]) {
		for method, op := range asMap(ops) {
			inBody[strings.ToUpper(method)+" "+path] = asMap(op)["security"]
		}
	}
	var events []route
	for _, id := range tpl.Functions() {
		events = append(events, eventRoutes(t, tpl, id)...)
	}
	if len(events) == 0 {
		t.Fatal("no HttpApi events in the template")
	}
	for _, r := range events {
		sec, ok := inBody[r]
		if !ok {
			t.Errorf("route %q has no operation in HttpApi's DefinitionBody: SAM would add it without authorisation", r)
			continue
		}
		if !reflect.DeepEqual(sec, wantSecurity) {
			t.Errorf("route %q: security = %#v, want %#v", r, sec, wantSecurity)
		}
		delete(inBody, r)
	}
	for r := range inBody {
		t.Errorf("DefinitionBody has %q, which no function event serves", r)
	}

	schemes := asMap(asMap(body["components"])["securitySchemes"])
	if got := asMap(schemes["AWS_IAM"])["x-amazon-apigateway-authtype"]; got != "awsSigv4" {
		t.Errorf("securitySchemes.AWS_IAM authtype = %#v, want awsSigv4", got)
	}
	if _, ok := asMap(schemes["JwtAuthorizer"])["Fn::If"]; !ok {
		t.Errorf("securitySchemes.JwtAuthorizer must exist only when UseJwt (Fn::If), got %#v", schemes["JwtAuthorizer"])
	}
	if _, ok := api.Properties["Auth"]; ok {
		t.Error("HttpApi.Auth is set: authorisation is in DefinitionBody, and SAM's Auth would override it")
	}
	if api.Properties["FailOnWarnings"] != true {
		t.Error("HttpApi.FailOnWarnings must be true, so an authoriser API Gateway cannot import fails the deploy")
	}
	for _, key := range []string{"AccessLogSettings", "DefaultRouteSettings"} {
		if api.Properties[key] == nil {
			t.Errorf("HttpApi.%s is not set (access logging and throttling defaults)", key)
		}
	}
}

// envConstants lists the environment variable names declared in pkg/config
// (the only package that reads the environment), by parsing its source so a
// new variable cannot go unnoticed here.
func envConstants(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "pkg", "config", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*Env\w+\s*=\s*"([A-Z0-9_]+)"`)
	var names []string
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatal("found no Env* constants in pkg/config/config.go")
	}
	return names
}

// devOnlyEnv are variables that only make sense against the local stand-ins;
// set on AWS they would redirect production traffic.
var devOnlyEnv = []string{config.EnvDatadogBaseURL, "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"}

// wantEnv is what each function must be given, and from where (the "Used
// by" column of docs/architecture.md's environment table).
var wantEnv = map[string]map[string]any{
	"CreateFunction": {
		config.EnvSecretPrefix: ref("SecretPrefix"),
		config.EnvLogLevel:     ref("LogLevel"),
		config.EnvKMSKeyID:     getAtt("ConnectionKey", "Arn"),
		// Managed keys minted from events get rotation, as the manage function's do.
		config.EnvRotationFunctionARN: getAtt("RotateFunction", "Arn"),
		config.EnvEventBus:            ref("EventBusName"),
		config.EnvAccessPolicySecret:  ref("AccessPolicySecretName"),
		config.EnvGroupsClaim:         ref("JwtGroupsClaim"),
	},
	"ValidateFunction": {
		config.EnvSecretPrefix:       ref("SecretPrefix"),
		config.EnvLogLevel:           ref("LogLevel"),
		config.EnvAccessPolicySecret: ref("AccessPolicySecretName"),
		config.EnvGroupsClaim:        ref("JwtGroupsClaim"),
	},
	"ManageFunction": {
		config.EnvSecretPrefix:        ref("SecretPrefix"),
		config.EnvLogLevel:            ref("LogLevel"),
		config.EnvKMSKeyID:            getAtt("ConnectionKey", "Arn"),
		config.EnvRotationFunctionARN: getAtt("RotateFunction", "Arn"),
		config.EnvMinRotateInterval:   ref("MinRotateInterval"),
		config.EnvAccessPolicySecret:  ref("AccessPolicySecretName"),
		config.EnvGroupsClaim:         ref("JwtGroupsClaim"),
		config.EnvEventBus:            ref("EventBusName"),
	},
	"RotateFunction": {
		config.EnvSecretPrefix: ref("SecretPrefix"),
		config.EnvLogLevel:     ref("LogLevel"),
		config.EnvEventBus:     ref("EventBusName"),
	},
}

func TestEnvironmentMatchesTheConfigPackage(t *testing.T) {
	tpl := loadTemplate(t)
	folders := makefileFunctions(t)
	known := envConstants(t)

	for _, id := range tpl.Functions() {
		t.Run(id, func(t *testing.T) {
			want, ok := wantEnv[id]
			if !ok {
				t.Fatalf("no expected environment for %s: add it to wantEnv", id)
			}
			vars := asMap(asMap(tpl.FunctionProperties(id)["Environment"])["Variables"])
			for name, value := range want {
				if !reflect.DeepEqual(vars[name], value) {
					t.Errorf("%s = %#v, want %#v", name, vars[name], value)
				}
			}
			for name := range vars {
				if slices.Contains(devOnlyEnv, name) {
					t.Errorf("%s is set: it is for local stand-ins only", name)
				}
				if strings.HasPrefix(name, "DDCONN_") && !slices.Contains(known, name) {
					t.Errorf("%s is set but pkg/config does not read it", name)
				}
			}
			for _, name := range readsDirectly(t, folders[id]) {
				if _, ok := want[name]; !ok && !slices.Contains(devOnlyEnv, name) && !strings.HasPrefix(name, "AWS_") {
					t.Errorf("functions/%s reads %s, which template.yaml does not set", folders[id], name)
				}
			}
		})
	}

	// A variable added to pkg/config must be classified: deployed to some
	// function, or dev-only.
	for _, name := range known {
		deployed := slices.Contains(devOnlyEnv, name)
		for _, want := range wantEnv {
			_, ok := want[name]
			deployed = deployed || ok
		}
		if !deployed {
			t.Errorf("pkg/config reads %s, but no function in wantEnv gets it and it is not dev-only", name)
		}
	}
	if got := asMap(tpl.Parameters["SecretPrefix"])["Default"]; got != config.DefaultSecretPrefix {
		t.Errorf("SecretPrefix parameter defaults to %#v, pkg/config to %q", got, config.DefaultSecretPrefix)
	}
}

// readsDirectly lists the environment variables a function's own package
// names: os.Getenv/LookupEnv literals and pkg/config constants.
func readsDirectly(t *testing.T, folder string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "functions", folder, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\("([A-Za-z0-9_]+)"\)`)
	constant := regexp.MustCompile(`config\.(Env\w+)`)
	constants := map[string]string{
		"EnvSecretPrefix": config.EnvSecretPrefix, "EnvKMSKeyID": config.EnvKMSKeyID,
		"EnvDatadogBaseURL": config.EnvDatadogBaseURL, "EnvRotationFunctionARN": config.EnvRotationFunctionARN,
		"EnvLogLevel": config.EnvLogLevel, "EnvEventBus": config.EnvEventBus,
	}
	var names []string
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			names = append(names, m[1])
		}
		for _, m := range constant.FindAllStringSubmatch(string(src), -1) {
			name, ok := constants[m[1]]
			if !ok {
				t.Errorf("%s uses config.%s, unknown to this test: add it to readsDirectly", file, m[1])
			}
			names = append(names, name)
		}
	}
	return names
}

func TestRotateFunction(t *testing.T) {
	tpl := loadTemplate(t)
	p := tpl.FunctionProperties("RotateFunction")

	// Each step is one synchronous invocation; testSecret may wait up to 60 s
	// for Datadog to accept the new key after calls that may each retry for
	// up to 60 s, so anything near API Gateway's 30 s would cut rotations short.
	if timeout, _ := p["Timeout"].(int); timeout < 180 || timeout > 900 {
		t.Errorf("Timeout = %#v, want 180–900 s to cover Datadog's retries and key activation", p["Timeout"])
	}
	if dlq := asMap(p["DeadLetterQueue"]); dlq["Type"] != "SQS" || refTarget(dlq["TargetArn"]) != "RotateDeadLetterQueue" {
		t.Errorf("DeadLetterQueue = %#v, want the SQS queue RotateDeadLetterQueue", p["DeadLetterQueue"])
	}
	var schedules int
	for _, ev := range asMap(p["Events"]) {
		if asMap(ev)["Type"] == "Schedule" {
			schedules++
		}
	}
	if schedules != 1 {
		t.Errorf("RotateFunction has %d Schedule events, want 1 (the sweeper)", schedules)
	}

	// Only Secrets Manager, for this account, may invoke it directly.
	var perms int
	for _, id := range tpl.OfType("AWS::Lambda::Permission") {
		pp := tpl.Resources[id].Properties
		if refTarget(pp["FunctionName"]) != "RotateFunction" {
			continue
		}
		perms++
		if pp["Principal"] != "secretsmanager.amazonaws.com" || !reflect.DeepEqual(pp["SourceAccount"], ref("AWS::AccountId")) ||
			pp["Action"] != "lambda:InvokeFunction" {
			t.Errorf("%s = %#v, want lambda:InvokeFunction for secretsmanager.amazonaws.com with SourceAccount !Ref AWS::AccountId", id, pp)
		}
	}
	if perms != 1 {
		t.Errorf("RotateFunction has %d explicit Lambda permissions, want exactly 1 (Secrets Manager)", perms)
	}
}

func TestHTTPFunctionsAnswerWithinAPIGatewayTimeout(t *testing.T) {
	tpl := loadTemplate(t)
	for _, id := range tpl.Functions() {
		if len(eventRoutes(t, tpl, id)) == 0 {
			continue
		}
		// API Gateway gives up after 30 s; a longer function would keep
		// working on requests whose caller already got a 503.
		if timeout, _ := tpl.FunctionProperties(id)["Timeout"].(int); timeout < 1 || timeout >= 30 {
			t.Errorf("%s Timeout = %#v, want under API Gateway's 30 s", id, tpl.FunctionProperties(id)["Timeout"])
		}
	}
}

func TestRotationFailuresAlarmWatchesTheRotationMetric(t *testing.T) {
	tpl := loadTemplate(t)
	alarm := tpl.Resources["RotationFailuresAlarm"]
	steps := map[string]bool{}
	for _, m := range asList(alarm.Properties["Metrics"]) {
		metric := asMap(asMap(asMap(m)["MetricStat"])["Metric"])
		if metric == nil {
			continue
		}
		if metric["Namespace"] != metrics.Namespace || metric["MetricName"] != metrics.RotationStepFailed {
			t.Errorf("alarm metric %v/%v, want %s/%s (pkg/metrics)", metric["Namespace"], metric["MetricName"], metrics.Namespace, metrics.RotationStepFailed)
		}
		for _, d := range asList(metric["Dimensions"]) {
			if asMap(d)["Name"] == metrics.DimensionStep {
				steps[fmt.Sprint(asMap(d)["Value"])] = true
			}
		}
	}
	for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
		if !steps[step] {
			t.Errorf("RotationFailuresAlarm does not count failures of step %s", step)
		}
	}
}

func TestAlarmsNotifyTheOptionalTopic(t *testing.T) {
	tpl := loadTemplate(t)
	want := map[string]any{"Fn::If": []any{"HasAlarmTopic", []any{ref("AlarmTopicArn")}, ref("AWS::NoValue")}}
	alarms := tpl.OfType("AWS::CloudWatch::Alarm")
	if len(alarms) < 2 {
		t.Fatalf("want alarms on rotation failures and function errors, found %v", alarms)
	}
	for _, id := range alarms {
		if got := tpl.Resources[id].Properties["AlarmActions"]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s AlarmActions = %#v, want %#v", id, got, want)
		}
	}
	for _, id := range tpl.Functions() {
		found := false
		for _, a := range alarms {
			for _, d := range asList(tpl.Resources[a].Properties["Dimensions"]) {
				found = found || refTarget(asMap(d)["Value"]) == id
			}
		}
		if !found {
			t.Errorf("no alarm watches %s", id)
		}
	}
}

func TestLogGroupsHaveRetention(t *testing.T) {
	tpl := loadTemplate(t)
	groups := map[string]bool{}
	for _, id := range tpl.OfType("AWS::Logs::LogGroup") {
		groups[id] = true
		if !reflect.DeepEqual(tpl.Resources[id].Properties["RetentionInDays"], ref("LogRetentionDays")) {
			t.Errorf("%s RetentionInDays = %#v, want !Ref LogRetentionDays", id, tpl.Resources[id].Properties["RetentionInDays"])
		}
	}
	for _, id := range tpl.Functions() {
		lg := asMap(tpl.FunctionProperties(id)["LoggingConfig"])["LogGroup"]
		if !groups[refTarget(lg)] {
			t.Errorf("%s logs to %#v, want one of the template's log groups (else Lambda creates one that never expires)", id, lg)
		}
	}
}

func TestSamconfigDeploysTheTemplate(t *testing.T) {
	tpl := loadTemplate(t)
	data, err := os.ReadFile(filepath.Join(repoRoot, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"version = 0.1", "[default.deploy.parameters]", `stack_name = "ddconn"`,
		`capabilities = "CAPABILITY_IAM"`, "resolve_s3 = true", "confirm_changeset = true",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("samconfig.toml lacks %q", want)
		}
	}
	overrides := regexp.MustCompile(`(?m)^parameter_overrides = "(.*)"$`).FindStringSubmatch(text)
	if overrides == nil {
		t.Fatal("samconfig.toml has no parameter_overrides")
	}
	for _, m := range regexp.MustCompile(`(\w+)=`).FindAllStringSubmatch(overrides[1], -1) {
		if _, ok := tpl.Parameters[m[1]]; !ok {
			t.Errorf("samconfig.toml overrides %s, which template.yaml does not declare", m[1])
		}
	}
	// CAPABILITY_IAM covers IAM resources with generated names only.
	for _, id := range tpl.OfType("AWS::IAM::Role") {
		if _, named := tpl.Resources[id].Properties["RoleName"]; named {
			t.Errorf("%s has a RoleName: deploying it needs CAPABILITY_NAMED_IAM", id)
		}
	}
}
