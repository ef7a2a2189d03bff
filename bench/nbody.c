/* nbody: classic 5-body (Sun + Jovian planets) simulation, dt = 0.01,
   STEPS steps of advance(); prints the final energy with 9 decimals. Usage: nbody STEPS */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <math.h>

#define PI 3.141592653589793
#define SOLAR_MASS (4.0 * PI * PI)
#define DAYS_PER_YEAR 365.24
#define NBODY 5

typedef struct { double x, y, z, vx, vy, vz, mass; } Body;

static Body bodies[NBODY] = {
  {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0},                                   /* Sun */
  { 4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
    1.66007664274403694e-03,  7.69901118419740425e-03, -6.90460016972063023e-05,
    9.54791938424326609e-04},                                              /* Jupiter */
  { 8.34336671824457987e+00,  4.12479856412430479e+00, -4.03523417114321381e-01,
   -2.76742510726862411e-03,  4.99852801234917238e-03,  2.30417297573763929e-05,
    2.85885980666130812e-04},                                              /* Saturn */
  { 1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
    2.96460137564761618e-03,  2.37847173959480950e-03, -2.96589568540237556e-05,
    4.36624404335156298e-05},                                              /* Uranus */
  { 1.53796971148509165e+01, -2.59193146099879641e+01,  1.79258772950371181e-01,
    2.68067772490389322e-03,  1.62824170038242295e-03, -9.51592254519715870e-05,
    5.15138902046611451e-05},                                              /* Neptune */
};

static void advance(double dt) {
  for (int i = 0; i < NBODY; i++) {
    Body *bi = &bodies[i];
    double bix = bi->x, biy = bi->y, biz = bi->z, bimass = bi->mass;
    double bivx = bi->vx, bivy = bi->vy, bivz = bi->vz;
    for (int j = i + 1; j < NBODY; j++) {
      Body *bj = &bodies[j];
      double dx = bix - bj->x, dy = biy - bj->y, dz = biz - bj->z;
      double d2 = dx * dx + dy * dy + dz * dz;
      double mag = dt / (d2 * sqrt(d2));
      double bm = bj->mass * mag;
      bivx = bivx - dx * bm;
      bivy = bivy - dy * bm;
      bivz = bivz - dz * bm;
      bm = bimass * mag;
      bj->vx = bj->vx + dx * bm;
      bj->vy = bj->vy + dy * bm;
      bj->vz = bj->vz + dz * bm;
    }
    bi->vx = bivx; bi->vy = bivy; bi->vz = bivz;
    bi->x = bix + dt * bivx;
    bi->y = biy + dt * bivy;
    bi->z = biz + dt * bivz;
  }
}

static double energy(void) {
  double e = 0.0;
  for (int i = 0; i < NBODY; i++) {
    Body *bi = &bodies[i];
    double vx = bi->vx, vy = bi->vy, vz = bi->vz, bim = bi->mass;
    e = e + 0.5 * bim * (vx * vx + vy * vy + vz * vz);
    for (int j = i + 1; j < NBODY; j++) {
      Body *bj = &bodies[j];
      double dx = bi->x - bj->x, dy = bi->y - bj->y, dz = bi->z - bj->z;
      e = e - bim * bj->mass / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static void offset_momentum(void) {
  double px = 0.0, py = 0.0, pz = 0.0;
  for (int i = 0; i < NBODY; i++) {
    px = px + bodies[i].vx * bodies[i].mass;
    py = py + bodies[i].vy * bodies[i].mass;
    pz = pz + bodies[i].vz * bodies[i].mass;
  }
  bodies[0].vx = -px / SOLAR_MASS;
  bodies[0].vy = -py / SOLAR_MASS;
  bodies[0].vz = -pz / SOLAR_MASS;
}

int main(int argc, char **argv) {
  (void)argc;
  for (int i = 0; i < NBODY; i++) {
    bodies[i].vx *= DAYS_PER_YEAR; bodies[i].vy *= DAYS_PER_YEAR; bodies[i].vz *= DAYS_PER_YEAR;
    bodies[i].mass *= SOLAR_MASS;
  }
  offset_momentum();
  const int64_t STEPS = atol(argv[1]);
  for (int64_t s = 0; s < STEPS; s++) advance(0.01);
  printf("%.9f\n", energy());
  return 0;
}
