export {
  type Claim,
  type ClaimOutcome,
  type CouponWindow,
  claimCoupon,
  couponKeys,
  markPublished,
  primeCoupon,
  publishClaim,
  unpublishedClaims,
} from "./claims";
