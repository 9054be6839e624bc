package sagemakerapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/provgraph/provgraph/apperr"
)

// awsError is an error as AWS's JSON protocols write it: {"__type": Code, "message":
// Message} with the HTTP status AWS answers it with. botocore raises it as a
// ClientError whose Error.Code is Code.
type awsError struct {
	Code    string
	Status  int
	Message string
}

func (e *awsError) Error() string { return e.Code + ": " + e.Message }

// The error codes provgraph answers with (SageMaker's, and those AWS's front end gives
// every JSON service).
const (
	codeValidation       = "ValidationException"
	codeResourceNotFound = "ResourceNotFound"
	codeConflict         = "ConflictException"
	codeResourceLimit    = "ResourceLimitExceeded"
	codeUnknownOperation = "UnknownOperationException"
	codeAccessDenied     = "AccessDeniedException"
	codeUnrecognized     = "UnrecognizedClientException"
	codeInternal         = "InternalFailure"
	codeUnavailable      = "ServiceUnavailable"
	codeSerialization    = "SerializationException"
)

// validation is AWS's ValidationException: the request breaks a rule of the API.
func validation(format string, args ...any) *awsError {
	return &awsError{Code: codeValidation, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// resourceNotFound is SageMaker's ResourceNotFound: the named resource does not exist.
func resourceNotFound(format string, args ...any) *awsError {
	return &awsError{Code: codeResourceNotFound, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// conflict is SageMaker's ConflictException: the request contradicts what is recorded.
func conflict(format string, args ...any) *awsError {
	return &awsError{Code: codeConflict, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// resourceLimit is SageMaker's ResourceLimitExceeded.
func resourceLimit(format string, args ...any) *awsError {
	return &awsError{Code: codeResourceLimit, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// appendOnly refuses a delete: provenance is never deleted in provgraph.
func appendOnly(what string) *awsError {
	return validation("provgraph keeps provenance append-only: %s cannot be deleted. "+
		"Nothing was changed; what was recorded stays in the graph and its audit log", what)
}

// unknownOperation answers an X-Amz-Target provgraph does not serve, as AWS does.
func unknownOperation(target string) *awsError {
	msg := "no operation is named " + target
	if target == "" {
		msg = "the X-Amz-Target header is missing; it names the operation, e.g. SageMaker.CreateExperiment"
	}
	return &awsError{Code: codeUnknownOperation, Status: http.StatusBadRequest, Message: msg}
}

// internalFailure hides an unexpected error from the client (the log has it).
var internalFailure = &awsError{Code: codeInternal, Status: http.StatusInternalServerError,
	Message: "internal error; see the provgraph server log"}

// awsErrorOf translates any error an operation returned into what the client is
// told: an *awsError as it is, an apperr error by its code, anything else as an
// internal failure (ok false: log it).
func awsErrorOf(err error) (e *awsError, ok bool) {
	if errors.As(err, &e) {
		return e, true
	}
	ae, isApp := apperr.As(err)
	if !isApp {
		return internalFailure, false
	}
	msg := ae.Error()
	switch ae.Code {
	case apperr.InvalidArgument:
		return validation("%s", msg), true
	case apperr.NotFound:
		return resourceNotFound("%s", msg), true
	case apperr.Conflict:
		return conflict("%s", msg), true
	case apperr.Unauthenticated:
		return &awsError{Code: codeUnrecognized, Status: http.StatusBadRequest, Message: msg}, true
	case apperr.Forbidden:
		return &awsError{Code: codeAccessDenied, Status: http.StatusBadRequest, Message: msg}, true
	case apperr.Unavailable:
		return &awsError{Code: codeUnavailable, Status: http.StatusServiceUnavailable, Message: msg}, true
	}
	return internalFailure, false
}
