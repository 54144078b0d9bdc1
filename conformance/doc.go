// Package conformance checks zohotest, the fake Zoho, against Zoho's own
// OpenAPI description of the CRM v8 records API. It is a module of its
// own so that users' "go test ./..." of zohoauth needs neither its
// validator (github.com/getkin/kin-openapi) nor Zoho's document, which is
// read from outside the repository and never copied into it:
//
//	ZOHO_CRM_OAS=/path/to/record.v8.bundled.json go test ./...
//
// Without ZOHO_CRM_OAS the test looks for ../shared/zoho-crm-oas/
// record.v8.bundled.json beside the repository's root and skips when it is
// not there; .ci/conformance.sh says so in one line.
package conformance
