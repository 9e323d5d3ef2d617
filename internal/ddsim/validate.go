package ddsim

// Wire types of the three validation endpoints.

type validV1 struct {
	Valid bool `json:"valid"`
}

type validateV2Document struct {
	Data validateV2Data `json:"data"`
}

type validateV2Data struct {
	ID         string               `json:"id"`
	Type       string               `json:"type"`
	Attributes validateV2Attributes `json:"attributes"`
}

type validateV2Attributes struct {
	Valid        bool     `json:"valid"`
	APIKeyID     string   `json:"api_key_id"`
	APIKeyScopes []string `json:"api_key_scopes"`
}

type validateKeysStatus struct {
	Status string `json:"status"`
}

// validateV1 answers GET /api/v1/validate; reaching it means the API key is
// valid (the pipeline answered 403 otherwise).
func (s *Simulator) validateV1(_ *caller, _ request) reply {
	return ok(validV1{Valid: true})
}

// validateV2 answers GET /api/v2/validate with the org id and the API key's
// id. API keys carry a scope only when remote configuration is enabled.
func (s *Simulator) validateV2(c *caller, _ request) reply {
	scopes := []string{}
	if c.apiKey.RemoteConfigReadEnabled {
		scopes = append(scopes, "remote_config_read")
	}
	return ok(validateV2Document{Data: validateV2Data{
		ID:   c.org.ID,
		Type: "validate_v2",
		Attributes: validateV2Attributes{
			Valid: true, APIKeyID: c.apiKey.ID, APIKeyScopes: scopes,
		},
	}})
}

// validateKeys answers GET /api/v2/validate_keys; reaching it means both
// keys are valid and belong to the same org.
func (s *Simulator) validateKeys(_ *caller, _ request) reply {
	return ok(validateKeysStatus{Status: "ok"})
}
