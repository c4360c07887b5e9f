export { claimCoupon, couponKeys, markPublished, primeCoupon, publishClaim, unpublishedClaims, type Claim, type ClaimOutcome, type CouponWindow } from "./claims";
