export { claimCoupon, couponKeys, markPublished, primeCoupon, publishClaim, type Claim, type ClaimOutcome } from "./claims";
