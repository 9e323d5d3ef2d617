package apigateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/pkg/access"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Start serves h as the Lambda function's handler; it never returns.
func Start(h http.Handler) {
	lambda.Start(Proxy(h))
}

// Proxy adapts h to an HTTP API (payload v2) event handler, for functions
// that take other events too and dispatch by shape.
func Proxy(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpadapter.NewV2(h).ProxyWithContext
}

// RequestID returns API Gateway's id of the request being served, so logs and
// error envelopes quote the id API Gateway's access log has too; "" outside
// Lambda.
func RequestID(r *http.Request) string {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok {
		return ""
	}
	return rc.RequestID
}

// DefaultGroupsClaim is the JWT claim holding the caller's groups, by
// default: Amazon Cognito's.
const DefaultGroupsClaim = "cognito:groups"

// Identifier returns the function telling who a request served through
// Proxy comes from, from the authorizer's part of API Gateway's request
// context: an IAM caller's principal ARN and account (an assumed-role
// session matched by its role, access.NormalizePrincipal), or a JWT's
// subject and the groups in groupsClaim ("" means DefaultGroupsClaim). A
// request without either is anonymous.
func Identifier(groupsClaim string) func(*http.Request) access.Identity {
	if groupsClaim == "" {
		groupsClaim = DefaultGroupsClaim
	}
	return func(r *http.Request) access.Identity {
		rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
		if !ok || rc.Authorizer == nil {
			return access.Identity{Kind: access.KindAnonymous}
		}
		if iam := rc.Authorizer.IAM; iam != nil && iam.UserARN != "" {
			principal, session := access.NormalizePrincipal(iam.UserARN)
			return access.Identity{Kind: access.KindIAM, Principal: principal, Session: session, Account: iam.AccountID}
		}
		if jwt := rc.Authorizer.JWT; jwt != nil {
			return access.Identity{Kind: access.KindJWT, Principal: jwt.Claims["sub"], Groups: ParseGroups(jwt.Claims[groupsClaim])}
		}
		return access.Identity{Kind: access.KindAnonymous}
	}
}

// ParseGroups reads a groups claim as API Gateway passes it: an array
// claim arrives as "[a b]" (or as JSON, `["a","b"]`), a plain one as
// "a" or "a,b".
func ParseGroups(claim string) []string {
	claim = strings.TrimSpace(claim)
	claim = strings.TrimSuffix(strings.TrimPrefix(claim, "["), "]")
	var groups []string
	for _, g := range strings.FieldsFunc(claim, func(r rune) bool { return r == ',' || r == ' ' }) {
		if g = strings.Trim(g, `"`); g != "" {
			groups = append(groups, g)
		}
	}
	return groups
}
