package com.panops.crypto.verify;

import java.time.Instant;
import java.util.List;

/**
 * The part of one CloudTrail record of a KMS event that the verifier uses. Strings that repeat
 * across records (key ARNs, principals, event names) are shared instances, so a reorder buffer of
 * many records stays small.
 *
 * @param eventId CloudTrail's {@code eventID}: unique per event, the same in a duplicate delivery
 * @param eventTime {@code eventTime}
 * @param eventName {@code eventName}, e.g. {@code Decrypt}, {@code DisableKey}
 * @param principal who made the call, folded: the role of an assumed-role session, else the ARN,
 *     else {@code account:<id>} or {@code service:<invokedBy>}; never null
 * @param accountId the caller's account, if the record names it
 * @param userAgent {@code userAgent}, or null
 * @param keyArns the KMS keys the record concerns ({@code resources}, else the request's key ids
 *     that are ARNs or key ids resolved in the record's account and region); empty if unknown
 * @param errorCode {@code errorCode}; null on success
 * @param requestId {@code requestID}, or null
 * @param policy for PutKeyPolicy and CreateKey, the policy document sent; else null
 * @param grantId for CreateGrant (from the response), RevokeGrant and RetireGrant, the grant id
 * @param granteePrincipal for CreateGrant, the grantee (folded like {@code principal})
 * @param grantOperations for CreateGrant, the operations granted
 * @param source the log file the record came from
 */
record KmsRecord(
    String eventId,
    Instant eventTime,
    String eventName,
    String principal,
    String accountId,
    String userAgent,
    List<String> keyArns,
    String errorCode,
    String requestId,
    String policy,
    String grantId,
    String granteePrincipal,
    List<String> grantOperations,
    String source) {

  boolean failed() {
    return errorCode != null;
  }
}
