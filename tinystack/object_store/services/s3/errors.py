"""S3's errors: a code, its HTTP status and message, as S3 answers them (the API renders
them as ``<Error><Code/><Message/><Resource/><RequestId/></Error>``)."""

from __future__ import annotations

#: code -> (status, default message)
CODES: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied."),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (400, "The query parameters of the authorization "
                                          "are malformed."),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyOwnedByYou": (409, "Your previous request to create the named bucket "
                                "succeeded and you already own it."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed object "
                       "size."),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the "
                       "Content-Length HTTP header."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist in our "
                           "records."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidDigest": (400, "The Content-MD5 you specified was invalid."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidPart": (400, "One or more of the specified parts could not be found. The part "
                    "might not have been uploaded, or the specified entity tag might not "
                    "have matched the part's entity tag."),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order. The parts list "
                         "must be specified in order by part number."),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidBucketState": (409, "The request is not valid with the current state of the "
                           "bucket."),
    "InvalidChunkSizeError": (400, "Only the last chunk is allowed to have a size less than "
                              "8192 bytes"),
    "KeyTooLongError": (400, "Your key is too long"),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate "
                     "against our published schema"),
    "MalformedACLError": (400, "The XML you provided was not well-formed or did not validate "
                          "against our published schema"),
    "MetadataTooLarge": (400, "Your metadata headers exceed the maximum allowed metadata "
                         "size."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingSecurityHeader": (400, "Your request was missing a required header"),
    "NoSuchBucket": (404, "The specified bucket does not exist"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchUpload": (404, "The specified multipart upload does not exist. The upload ID "
                     "might be invalid, or the multipart upload might have been aborted or "
                     "completed."),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NotImplemented": (501, "A header you provided implies functionality that is not "
                       "implemented."),
    "OperationAborted": (409, "A conflicting conditional operation is currently in progress "
                         "against this resource."),
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not "
                           "hold."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the current "
                             "time is too large."),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the "
                              "signature you provided. Check your key and signing method."),
    "UnexpectedContent": (400, "This request does not support content"),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does not "
                                  "match what was computed."),
}  # fmt: skip


class S3Error(Exception):
    """An S3 error answer; ``extra`` are more elements of its ``<Error>`` document."""

    def __init__(self, code: str, message: str = "", **extra: str) -> None:
        self.code = code
        self.status, default = CODES.get(code, (400, code))
        self.message = message or default
        self.extra = extra
        super().__init__(f"{code}: {self.message}")
