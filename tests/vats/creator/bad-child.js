// creator/bad-child.js — buildRootObject throws, so createVat() rejects.
export const buildRootObject = (_vatPowers, vatParameters) => {
  throw Error(`bad child ${vatParameters.name} refuses to start`);
};
