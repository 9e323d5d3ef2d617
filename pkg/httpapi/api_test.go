package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func TestCreateStoresOneSecret(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/connections", e.createBody("prod-us5", e.rotatorKey))
	mustStatus(t, r, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/connections/prod-us5" {
		t.Errorf("Location = %q", loc)
	}
	var c connection.Connection
	r.json(t, &c)
	if c.Name != "prod-us5" || c.Site != "US5" || c.Credentials.URL != "https://api.us5.datadoghq.com" ||
		c.App != "datadog" || c.Method != "api-key" || c.OwnerID != e.rotatorID || !c.OwnerIsServiceAccount ||
		c.ApplicationKeyID == "" || c.SecretARN == "" || c.Scopes == nil || !slices.Equal(*c.Scopes, fullScopes) ||
		!c.Capabilities.RotateOwnKey || !c.Capabilities.ManageServiceAccountKeys || len(c.Capabilities.MissingPermissions) != 0 ||
		c.Rotation.Enabled || c.Valid == nil || !*c.Valid || c.CreatedAt.IsZero() {
		t.Fatalf("connection = %s", r.body)
	}

	// The secret: one, named <prefix><name>, with the document, the
	// description and the non-secret tags.
	ctx := context.Background()
	sec, err := e.Store.Describe(ctx, "ddconn/connections/prod-us5")
	if err != nil {
		t.Fatal(err)
	}
	if sec.ARN != c.SecretARN || sec.Description != "test prod-us5" {
		t.Fatalf("secret = %+v", sec)
	}
	wantTags := map[string]string{
		"ddconn:managed-by": "ddconn", "ddconn:site": "US5", "ddconn:owner-id": e.rotatorID,
		"ddconn:application-key-id": c.ApplicationKeyID, "ddconn:valid": "true",
	}
	for k, v := range wantTags {
		if sec.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, sec.Tags[k], v)
		}
	}
	v, err := e.Store.Get(ctx, sec.ARN, "", secretstore.Current)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		t.Fatal(err)
	}
	if doc.URL != "https://api.us5.datadoghq.com" || doc.APIKey != e.apiKey || doc.Key != e.rotatorKey ||
		doc.KeyID != c.ApplicationKeyID || doc.OwnerID != e.rotatorID || !doc.OwnerIsServiceAccount ||
		!slices.Equal(doc.Scopes, fullScopes) {
		t.Fatalf("stored document = %v", doc)
	}
	testkit.AssertNoKeyMaterial(t, r.body, e.apiKey, e.rotatorKey)
}

func TestCreateNormalisesPastedSiteForms(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ url, site, api string }{
		{"us5.datadoghq.com", "US5", "https://api.us5.datadoghq.com"},
		{"https://app.datadoghq.eu", "EU", "https://api.datadoghq.eu"},
		{"https://us3.datadoghq.com/", "US3", "https://api.us3.datadoghq.com"},
		{"https://api.ddog-gov.com", "US1-FED", "https://api.ddog-gov.com"},
	}
	for i, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			r := e.do("POST", "/connections", createBody(fmt.Sprintf("site-%d", i), tt.url, e.apiKey, e.adminKey))
			mustStatus(t, r, http.StatusCreated)
			var c connection.Connection
			r.json(t, &c)
			if c.Site != tt.site || c.Credentials.URL != tt.api {
				t.Fatalf("site %s url %s, want %s %s", c.Site, c.Credentials.URL, tt.site, tt.api)
			}
		})
	}
}

func TestCapabilitiesAndKeyLookup(t *testing.T) {
	e := newEnv(t)
	// A service account whose key may not list the current user's keys
	// but may use the service-account route.
	saOnly := []string{"service_account_write", "user_access_read"}
	saID := e.Simulator.AddUser(e.orgID, ddsim.UserSpec{Name: "sa-writer", ServiceAccount: true, Permissions: saOnly})
	saKey, _ := e.Simulator.AddAppKey(saID, "sa-key", saOnly)
	tests := []struct {
		name        string
		appKey      string
		rotate, sas bool
		missing     []string
		keyKnown    bool
		unscoped    bool
	}{
		{"scoped with everything", e.rotatorKey, true, true, []string{}, true, false},
		{"unscoped key", e.adminKey, true, true, []string{}, true, true},
		{"service account key via its own route", saKey, false, true, []string{"user_app_keys"}, true, false},
		{"key that may not list keys", e.limitedKey, false, false, []string{"user_app_keys"}, false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/connections", e.createBody(fmt.Sprintf("caps-%d", i), tt.appKey))
			mustStatus(t, r, http.StatusCreated)
			var c connection.Connection
			r.json(t, &c)
			caps := c.Capabilities
			if caps.RotateOwnKey != tt.rotate || caps.ManageServiceAccountKeys != tt.sas || !slices.Equal(caps.MissingPermissions, tt.missing) {
				t.Fatalf("capabilities = %+v", caps)
			}
			if (c.ApplicationKeyID != "") != tt.keyKnown || (len(c.Warnings) == 0) == !tt.keyKnown {
				t.Fatalf("applicationKeyId %q warnings %v, want known %v", c.ApplicationKeyID, c.Warnings, tt.keyKnown)
			}
			// JSON null (unscoped) decodes to a nil pointer, so read the raw body.
			if tt.keyKnown && strings.Contains(string(r.body), `"scopes":null`) != tt.unscoped {
				t.Fatalf("scopes = %s", r.body)
			}
			if !tt.keyKnown && strings.Contains(string(r.body), `"scopes"`) {
				t.Fatalf("unknown scopes must be omitted, not reported as unscoped: %s", r.body)
			}
			// The listing, from tags only, agrees.
			var got connection.Connection
			e.do("GET", fmt.Sprintf("/connections/caps-%d", i), "").json(t, &got)
			if !slices.Equal(got.Capabilities.MissingPermissions, tt.missing) || got.ApplicationKeyID != c.ApplicationKeyID {
				t.Fatalf("GET disagrees with create: %+v vs %+v", got.Capabilities, caps)
			}
		})
	}
}

// TestStatusCodes drives every status code of the issue through the stack.
func TestStatusCodes(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("taken", e.rotatorKey)), http.StatusCreated)
	mustStatus(t, e.do("POST", "/connections", e.createBody("doomed", e.rotatorKey)), http.StatusCreated)
	mustStatus(t, e.do("DELETE", "/connections/doomed", ""), http.StatusOK)
	badAPI := createBody("x", "us5.datadoghq.com", strings.Repeat("0", 32), e.rotatorKey)
	badApp := createBody("x", "us5.datadoghq.com", e.apiKey, strings.Repeat("z", 40))
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string
		status      int
		code        string
		field       string // a details field that must be named
	}{
		{"create", "POST", "/connections", e.createBody("fresh", e.rotatorKey), "", 201, "", ""},
		{"list", "GET", "/connections", "", "", 200, "", ""},
		{"get", "GET", "/connections/taken", "", "", 200, "", ""},
		{"patch", "PATCH", "/connections/taken", `{"description":"d2"}`, "", 200, "", ""},
		{"validate credentials", "POST", "/connections/validate", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"` + e.apiKey + `","applicationKey":"` + e.rotatorKey + `"}}`, "", 200, "", ""},
		{"validate credentials rejected is a result", "POST", "/connections/validate", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"` + strings.Repeat("0", 32) + `","applicationKey":"` + e.rotatorKey + `"}}`, "", 200, "", ""},
		{"validate stored", "POST", "/connections/taken/validate", "", "", 200, "", ""},
		{"service accounts", "GET", "/connections/taken/service-accounts", "", "", 200, "", ""},
		{"delete", "DELETE", "/connections/fresh", "", "", 200, "", ""},

		{"400 bad name", "POST", "/connections", e.createBody("Bad_Name", e.rotatorKey), "", 400, httpapi.CodeInvalidRequest, "name"},
		{"400 each bad field named", "POST", "/connections", `{"name":"-x","description":"","credentials":{"url":"http://evil","apiKey":"1","applicationKey":""}}`, "", 400, httpapi.CodeInvalidRequest, "credentials.applicationKey"},
		{"400 unknown field", "POST", "/connections", `{"name":"a","nmae":"b"}`, "", 400, httpapi.CodeInvalidRequest, "body"},
		{"400 bad JSON", "POST", "/connections", `{"name":`, "", 400, httpapi.CodeInvalidJSON, ""},
		{"400 rename", "PATCH", "/connections/taken", `{"name":"other"}`, "", 400, httpapi.CodeInvalidRequest, "name"},
		{"400 empty patch", "PATCH", "/connections/taken", `{}`, "", 400, httpapi.CodeInvalidRequest, ""},
		{"400 limit not a number", "GET", "/connections?limit=ten", "", "", 400, httpapi.CodeInvalidRequest, "limit"},
		{"400 limit too big", "GET", "/connections?limit=1000", "", "", 400, httpapi.CodeInvalidRequest, "limit"},
		{"400 bad cursor", "GET", "/connections?cursor=not-a-cursor", "", "", 400, httpapi.CodeInvalidRequest, "cursor"},
		{"400 bad force", "DELETE", "/connections/taken?force=maybe", "", "", 400, httpapi.CodeInvalidRequest, "force"},
		{"400 validate without credentials", "POST", "/connections/validate", `{}`, "", 400, httpapi.CodeInvalidRequest, "credentials"},
		{"400 name in path", "GET", "/connections/UPPER", "", "", 400, httpapi.CodeInvalidRequest, "name"},

		{"404 get", "GET", "/connections/absent", "", "", 404, httpapi.CodeNotFound, ""},
		{"404 get scheduled for deletion", "GET", "/connections/doomed", "", "", 404, httpapi.CodeNotFound, ""},
		{"404 patch", "PATCH", "/connections/absent", `{"description":"x"}`, "", 404, httpapi.CodeNotFound, ""},
		{"404 delete", "DELETE", "/connections/absent", "", "", 404, httpapi.CodeNotFound, ""},
		{"404 validate", "POST", "/connections/absent/validate", "", "", 404, httpapi.CodeNotFound, ""},
		{"404 service accounts", "GET", "/connections/absent/service-accounts", "", "", 404, httpapi.CodeNotFound, ""},
		{"404 unknown route", "GET", "/nothing/here", "", "", 404, httpapi.CodeNotFound, ""},
		{"405 wrong method", "PUT", "/connections", "", "", 405, httpapi.CodeMethodNotAllowed, ""},

		{"409 name taken", "POST", "/connections", e.createBody("taken", e.rotatorKey), "", 409, httpapi.CodeNameTaken, ""},
		{"409 pending deletion", "POST", "/connections", e.createBody("doomed", e.rotatorKey), "", 409, httpapi.CodePendingDeletion, ""},
		{"409 deleting twice", "DELETE", "/connections/doomed", "", "", 409, httpapi.CodePendingDeletion, ""},

		{"413 body over 16 KiB", "POST", "/connections", `{"description":"` + strings.Repeat("x", 17<<10) + `"}`, "", 413, httpapi.CodeBodyTooLarge, ""},
		{"415 not JSON", "POST", "/connections", "name=a", "application/x-www-form-urlencoded", 415, httpapi.CodeUnsupportedMediaType, ""},
		{"415 no content type", "PATCH", "/connections/taken", `{"description":"x"}`, "-", 415, httpapi.CodeUnsupportedMediaType, ""},

		{"422 API key rejected", "POST", "/connections", badAPI, "", 422, httpapi.CodeCredentialsRejected, "credentials.apiKey"},
		{"422 application key rejected", "POST", "/connections", badApp, "", 422, httpapi.CodeCredentialsRejected, "credentials.applicationKey"},
		{"422 patch with rejected keys", "PATCH", "/connections/taken", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"` + e.apiKey + `","applicationKey":"` + strings.Repeat("z", 40) + `"}}`, "", 422, httpapi.CodeCredentialsRejected, "credentials.applicationKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := "application/json"
			switch tt.contentType {
			case "-":
				ct = ""
			case "":
			default:
				ct = tt.contentType
			}
			r := e.doType(tt.method, tt.path, tt.body, ct)
			mustStatus(t, r, tt.status)
			if ctype := r.header.Get("Content-Type"); ctype != "application/json" {
				t.Errorf("Content-Type = %q", ctype)
			}
			if tt.code == "" {
				return
			}
			checkEnvelope(t, r, tt.code, tt.field)
		})
	}
}

// checkEnvelope asserts the error envelope's shape, code and details.
func checkEnvelope(t *testing.T, r response, code, field string) {
	t.Helper()
	var env errorEnvelope
	r.json(t, &env)
	if env.Error.Code != code || env.Error.Message == "" || env.RequestID == "" || env.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("envelope = %s, want code %s and the request id of the header", r.body, code)
	}
	if field == "" {
		return
	}
	for _, d := range env.Error.Details {
		if d.Field == field && d.Message != "" {
			return
		}
	}
	t.Fatalf("details of %s do not name %s", r.body, field)
}

func TestFieldErrorsNameEveryBadField(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/connections", `{"name":"-x","description":"`+strings.Repeat("d", 300)+`","method":"oauth","credentials":{"url":"http://evil","apiKey":"1","applicationKey":""}}`)
	mustStatus(t, r, 400)
	var env errorEnvelope
	r.json(t, &env)
	var got []string
	for _, d := range env.Error.Details {
		got = append(got, d.Field)
	}
	want := []string{"name", "description", "method", "credentials.url", "credentials.apiKey", "credentials.applicationKey"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields = %v, want %v", got, want)
	}
}

func TestServiceAccountsRejectedWithoutPermission(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("limited", e.limitedKey)), http.StatusCreated)
	r := e.do("GET", "/connections/limited/service-accounts", "")
	mustStatus(t, r, http.StatusUnprocessableEntity)
	checkEnvelope(t, r, httpapi.CodeCredentialsRejected, "")
}

func TestServiceAccountsListsEveryPage(t *testing.T) {
	e := newEnv(t)
	for i := range 105 {
		e.Simulator.AddUser(e.orgID, ddsim.UserSpec{Name: fmt.Sprintf("sa-%03d", i), ServiceAccount: true})
	}
	mustStatus(t, e.do("POST", "/connections", e.createBody("c", e.rotatorKey)), http.StatusCreated)
	r := e.do("GET", "/connections/c/service-accounts", "")
	mustStatus(t, r, http.StatusOK)
	var out struct {
		ServiceAccounts []connection.ServiceAccount `json:"serviceAccounts"`
	}
	r.json(t, &out)
	// 105 added + the rotator; the two human users are filtered out.
	if len(out.ServiceAccounts) != 106 {
		t.Fatalf("%d service accounts, want 106", len(out.ServiceAccounts))
	}
	for _, sa := range out.ServiceAccounts {
		if sa.ID == e.adminID || sa.ID == e.limitedID || sa.Email == "" {
			t.Fatalf("unexpected entry %+v", sa)
		}
	}
}

func TestValidateStoredRecordsResult(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("v", e.adminKey)), http.StatusCreated)
	var before connection.Connection
	e.do("GET", "/connections/v", "").json(t, &before)

	// Revoke the key behind Datadog's back: validation is a result, not an error.
	if !e.Simulator.SetUserDisabled(e.adminID, true) {
		t.Fatal("no admin")
	}
	r := e.do("POST", "/connections/v/validate", "")
	mustStatus(t, r, http.StatusOK)
	var v connection.Validation
	r.json(t, &v)
	if v.Valid || len(v.Checks) != 4 || v.Checks[2].Name != "applicationKey" || v.Checks[2].OK {
		t.Fatalf("validation = %s", r.body)
	}
	var after connection.Connection
	e.do("GET", "/connections/v", "").json(t, &after)
	if after.Valid == nil || *after.Valid || after.LastValidatedAt == nil || after.LastValidatedAt.Before(*before.LastValidatedAt) {
		t.Fatalf("the connection does not show the failed validation: %+v", after)
	}
}

func TestPatchCredentialsKeepsPreviousVersion(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("p", e.rotatorKey)), http.StatusCreated)
	r := e.do("PATCH", "/connections/p", `{"description":"now admin","credentials":{"url":"https://app.datadoghq.eu","apiKey":"`+e.apiKey+`","applicationKey":"`+e.adminKey+`"}}`)
	mustStatus(t, r, http.StatusOK)
	var c connection.Connection
	r.json(t, &c)
	if c.Description != "now admin" || c.OwnerID != e.adminID || c.OwnerIsServiceAccount || c.Site != "EU" || !strings.Contains(string(r.body), `"scopes":null`) {
		t.Fatalf("patched connection = %s", r.body)
	}
	ctx := context.Background()
	cur, err := e.Store.Get(ctx, "ddconn/connections/p", "", secretstore.Current)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := e.Store.Get(ctx, "ddconn/connections/p", "", secretstore.Previous)
	if err != nil {
		t.Fatal(err)
	}
	curDoc, _ := secretkind.Connection.Parse(cur.Value)
	prevDoc, _ := secretkind.Connection.Parse(prev.Value)
	if curDoc.Key != e.adminKey || prevDoc.Key != e.rotatorKey || cur.ID == prev.ID {
		t.Fatal("PATCH must write a new AWSCURRENT version and keep the old one as AWSPREVIOUS")
	}
	sec, _ := e.Store.Describe(ctx, "ddconn/connections/p")
	if sec.Tags["ddconn:owner-id"] != e.adminID || sec.Tags["ddconn:site"] != "EU" {
		t.Fatalf("tags not refreshed: %v", sec.Tags)
	}
}

func TestPatchToUnidentifiedKeyDropsStaleTags(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("s", e.rotatorKey)), http.StatusCreated)
	mustStatus(t, e.do("PATCH", "/connections/s", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"`+e.apiKey+`","applicationKey":"`+e.limitedKey+`"}}`), http.StatusOK)
	sec, err := e.Store.Describe(context.Background(), "ddconn/connections/s")
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := sec.Tags["ddconn:application-key-id"]; ok {
		t.Fatalf("the old key id %q survived the patch", id)
	}
}

func TestPatchRefusedDuringRotation(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("r", e.rotatorKey)), http.StatusCreated)
	// A rotation in flight: AWSPENDING on a version that is not AWSCURRENT.
	if _, err := e.Store.Put(context.Background(), "ddconn/connections/r", "", `{"pending":true}`, []string{secretstore.Pending}, ""); err != nil {
		t.Fatal(err)
	}
	r := e.do("PATCH", "/connections/r", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"`+e.apiKey+`","applicationKey":"`+e.adminKey+`"}}`)
	mustStatus(t, r, http.StatusConflict)
	checkEnvelope(t, r, httpapi.CodeRotationInProgress, "")
	// A description change does not touch versions and is allowed.
	mustStatus(t, e.do("PATCH", "/connections/r", `{"description":"fine"}`), http.StatusOK)
}

func TestDeleteForceFreesTheName(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("gone", e.rotatorKey)), http.StatusCreated)
	r := e.do("DELETE", "/connections/gone", "")
	mustStatus(t, r, http.StatusOK)
	var d connection.Deletion
	r.json(t, &d)
	if d.RecoveryWindowDays != 7 || d.DeletionDate.IsZero() {
		t.Fatalf("deletion = %s", r.body)
	}
	mustStatus(t, e.do("POST", "/connections", e.createBody("gone", e.rotatorKey)), http.StatusConflict)
	r = e.do("DELETE", "/connections/gone?force=true", "")
	mustStatus(t, r, http.StatusOK)
	r.json(t, &d)
	if d.RecoveryWindowDays != 0 {
		t.Fatalf("forced deletion = %s", r.body)
	}
	mustStatus(t, e.do("POST", "/connections", e.createBody("gone", e.rotatorKey)), http.StatusCreated)
}

func TestListPaginates(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("page-%d", i)
		want = append(want, name)
		mustStatus(t, e.do("POST", "/connections", e.createBody(name, e.rotatorKey)), http.StatusCreated)
	}
	// A foreign secret under the prefix is not a connection.
	if _, err := e.Store.Create(context.Background(), secretstore.CreateInput{Name: "ddconn/connections/foreign", Value: "{}"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		r := e.do("GET", "/connections?limit=2&cursor="+cursor, "")
		mustStatus(t, r, http.StatusOK)
		var p connection.Page
		r.json(t, &p)
		if len(p.Connections) > 2 {
			t.Fatalf("page of %d, limit 2", len(p.Connections))
		}
		for _, c := range p.Connections {
			if c.Scopes != nil {
				t.Fatal("listings read no secret values, so they have no scopes")
			}
			got = append(got, c.Name)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	mustStatus(t, e.do("GET", "/connections/foreign", ""), http.StatusNotFound)
}

func TestConcurrentCreatesOfOneName(t *testing.T) {
	e := newEnv(t)
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = e.do("POST", "/connections", e.createBody("race", e.rotatorKey)).status
		})
	}
	wg.Wait()
	created, conflicts := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			conflicts++
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("statuses %v: want exactly one 201 and %d 409s", statuses, n-1)
	}
}

func TestPatchWhileReading(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("hot", e.rotatorKey)), http.StatusCreated)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				r := e.do("GET", "/connections/hot", "")
				var c connection.Connection
				if r.status != http.StatusOK || json.Unmarshal(r.body, &c) != nil ||
					(c.OwnerID != e.rotatorID && c.OwnerID != e.adminID) {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%d %s", r.status, r.body))
					mu.Unlock()
				}
			}
		})
	}
	keys := []string{e.adminKey, e.rotatorKey}
	for i := range 6 {
		body := fmt.Sprintf(`{"description":"rev %d","credentials":{"url":"us5.datadoghq.com","apiKey":"%s","applicationKey":"%s"}}`, i, e.apiKey, keys[i%2])
		mustStatus(t, e.do("PATCH", "/connections/hot", body), http.StatusOK)
	}
	stop()
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d reads failed during PATCHes, first: %s", len(bad), bad[0])
	}
	var c connection.Connection
	e.do("GET", "/connections/hot", "").json(t, &c)
	if c.Description != "rev 5" || c.OwnerID != e.rotatorID {
		t.Fatalf("final state = %+v", c)
	}
}

func TestDatadogFailuresAnswer502(t *testing.T) {
	e := newEnv(t)
	e.Simulator.AddFault(ddsim.Fault{Method: "GET", PathPrefix: "/api/v2/current_user", Status: 500, Count: 100})
	r := e.do("POST", "/connections", e.createBody("x", e.rotatorKey))
	mustStatus(t, r, http.StatusBadGateway)
	checkEnvelope(t, r, httpapi.CodeDatadogUnavailable, "")
	r = e.do("POST", "/connections/validate", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"`+e.apiKey+`","applicationKey":"`+e.rotatorKey+`"}}`)
	mustStatus(t, r, http.StatusBadGateway)
	if _, err := e.Store.Describe(context.Background(), "ddconn/connections/x"); err == nil {
		t.Fatal("nothing may be stored when Datadog fails")
	}
}

func TestDatadog5xxAfterRetriesAnswers502(t *testing.T) {
	if testing.Short() {
		t.Skip("the Datadog client waits 2 s before its retry")
	}
	e := newEnv(t, withDatadogRetry(datadogRetryOnce))
	e.Simulator.AddFault(ddsim.Fault{Method: "GET", PathPrefix: "/api/v1/validate", Status: 503, Count: 2})
	before := e.Simulator.APIRequests()
	r := e.do("POST", "/connections/validate", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"`+e.apiKey+`","applicationKey":"`+e.rotatorKey+`"}}`)
	mustStatus(t, r, http.StatusBadGateway)
	// 2 attempts of /api/v1/validate plus the three other checks.
	if n := e.Simulator.APIRequests() - before; n != 5 {
		t.Fatalf("%d Datadog requests, want 5 (one retry of the failing call)", n)
	}
}

func TestSecretsManagerThrottlingAnswers503(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("t", e.rotatorKey)), http.StatusCreated)
	tests := []struct {
		name, op, method, path, body string
	}{
		{"get", "DescribeSecret", "GET", "/connections/t", ""},
		{"list", "ListSecrets", "GET", "/connections", ""},
		{"create", "CreateSecret", "POST", "/connections", e.createBody("t2", e.rotatorKey)},
		{"patch", "PutSecretValue", "PATCH", "/connections/t", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"` + e.apiKey + `","applicationKey":"` + e.adminKey + `"}}`},
		{"delete", "DeleteSecret", "DELETE", "/connections/t", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.Emulator.AddFault(smemu.Fault{Operation: tt.op, Error: "ThrottlingException", Count: 10})
			t.Cleanup(e.Emulator.ClearFaults)
			r := e.do(tt.method, tt.path, tt.body)
			mustStatus(t, r, http.StatusServiceUnavailable)
			checkEnvelope(t, r, httpapi.CodeStoreUnavailable, "")
		})
	}
	// A single throttle is absorbed by the SDK's retry.
	e.Emulator.AddFault(smemu.Fault{Operation: "DescribeSecret", Error: "ThrottlingException", Count: 1})
	mustStatus(t, e.do("GET", "/connections/t", ""), http.StatusOK)
}
