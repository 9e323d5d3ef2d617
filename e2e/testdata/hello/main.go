// Command hello is the smallest aws-lambda-go function: the baseline the
// benchmark compares ddconn's cold starts with. It is built exactly like
// ddconn's functions (see the Makefile's LAMBDA_BUILD).
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, event json.RawMessage) (json.RawMessage, error) {
		return event, nil
	})
}
